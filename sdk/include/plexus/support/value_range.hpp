// A value interval "low,high" given as a parameter: the target range of a scaler, the
// clipping range of an augmentation.
#pragma once

#include <string>

#include "plexus/export.hpp"
#include "plexus/params.hpp"

namespace plexus::support {

/// The `range` parameter, default "0,1"; `doc` says what the range is for.
constexpr ParamSpec range_param(const char* doc) {
    return {"range", ParamType::string, "0,1", 0, 0, nullptr, doc};
}

/// A closed interval [low, high] with low < high.
struct ValueRange {
    float low = 0.0f;
    float high = 1.0f;
};

/// Parses "low,high" (e.g. "0,1", "-1,1"). Ensures low < high and both within float range.
/// Throws ParamError naming `who` (the component) and an example otherwise.
PLEXUS_API ValueRange parse_range(const std::string& text, const char* who);

/// `v` limited to `r`.
inline float clip(float v, ValueRange r) {
    return v < r.low ? r.low : (v > r.high ? r.high : v);
}

}  // namespace plexus::support
