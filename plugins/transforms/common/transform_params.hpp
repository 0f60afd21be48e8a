// Parameters shared by several transform plugins: a value range "low,high" (scalers' target,
// augmentations' clipping), the per-feature/global choice of the scalers, and the shape
// checks every transform makes. Header-only: each plugin library compiles its own copy, so
// nothing here crosses a plugin boundary.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <string>

#include "plexus/error.hpp"
#include "plexus/params.hpp"
#include "plexus/shape.hpp"

namespace plexus::transforms {

/// The `range` parameter: "low,high" with low < high.
constexpr ParamSpec range_param(const char* doc) {
    return {"range", ParamType::string, "0,1", 0, 0, nullptr, doc};
}

/// The `per` parameter of the scalers.
constexpr ParamSpec per_param() {
    return {"per",
            ParamType::choice,
            "feature",
            0,
            0,
            "feature|global",
            "feature: one statistic per value position (like scikit-learn); global: one over "
            "all values"};
}

enum class Per { feature, global };

inline Per parse_per(const Params& params) {
    return params.get_string("per") == "global" ? Per::global : Per::feature;
}

struct ValueRange {
    float low = 0.0f;
    float high = 1.0f;
};

/// Parses "<first><sep><second>" (e.g. "0,1", "28x28") into two numbers; false when the
/// text is anything else.
template <class T>
bool parse_pair(const std::string& text, char sep, T& first, T& second) {
    const auto at = text.find(sep);
    if (at == std::string::npos) return false;
    const char* const begin = text.data();
    const char* const end = begin + text.size();
    const auto a = std::from_chars(begin, begin + at, first);
    const auto b = std::from_chars(begin + at + 1, end, second);
    return a.ec == std::errc() && a.ptr == begin + at && b.ec == std::errc() && b.ptr == end;
}

/// Parses "low,high" (e.g. "0,1", "-1,1"); throws ParamError naming `who` otherwise.
inline ValueRange parse_range(const std::string& text, const char* who) {
    double low = 0, high = 0;
    if (!parse_pair(text, ',', low, high) || !(std::fabs(low) < 3.4e38) ||
        !(std::fabs(high) < 3.4e38) || !(low < high))
        throw ParamError(std::string(who) + ": range '" + text +
                         "' must be two numbers 'low,high' with low < high (e.g. range=0,1 or "
                         "range=-1,1)");
    return {static_cast<float>(low), static_cast<float>(high)};
}

inline float clip(float v, ValueRange r) {
    return v < r.low ? r.low : (v > r.high ? r.high : v);
}

/// One image plane layout: [H, W] is one channel, [C, H, W] is C planes, channel-major.
struct ImageDims {
    std::size_t channels = 1;
    std::size_t height = 0;
    std::size_t width = 0;
    std::size_t plane() const { return height * width; }
    std::size_t numel() const { return channels * height * width; }
};

/// The image layout of `sample`, or a ShapeError saying that `who` needs images.
inline ImageDims image_dims(const Shape& sample, const char* who) {
    if (sample.rank() == 2) return {1, sample[0], sample[1]};
    if (sample.rank() == 3) return {sample[0], sample[1], sample[2]};
    std::string what = "these samples are " + sample.str();
    if (sample.rank() == 1) what += " features";
    throw ShapeError(std::string(who) + " needs images ([H,W] or [C,H,W]); " + what);
}

}  // namespace plexus::transforms
