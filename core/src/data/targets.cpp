#include "plexus/core/data/targets.hpp"

#include <cmath>
#include <string_view>

#include "plexus/error.hpp"

namespace plexus::core {

TargetScaler TargetScaler::parse(const std::string& text, const std::string& where) {
    TargetScaler s;
    if (text == "none") s.kind_ = Kind::none;
    else if (text == "standardize") s.kind_ = Kind::standardize;
    else if (text == "scale") s.kind_ = Kind::scale;
    else
        throw ConfigError(where + ": target_transform must be none, standardize or scale, found '" +
                          text + "'");
    return s;
}

const char* TargetScaler::name() const {
    switch (kind_) {
        case Kind::standardize: return "standardize";
        case Kind::scale: return "scale";
        case Kind::none: break;
    }
    return "none";
}

void TargetScaler::identity(std::size_t width) {
    kind_ = Kind::none;
    offset_.assign(width, 0.0f);
    scale_.assign(width, 1.0f);
}

void TargetScaler::fit(const Dataset& data, const std::vector<std::uint32_t>& ids) {
    const std::size_t k = data.target_width;
    const Kind kind = kind_;
    identity(k);
    kind_ = kind;
    if (kind_ == Kind::none || ids.empty()) return;
    // Double sums: a float mean over many rows of large values (CO2 in ppm) drifts.
    std::vector<double> a(k, 0.0), b(k, 0.0);
    if (kind_ == Kind::scale) {
        a.assign(k, INFINITY);
        b.assign(k, -INFINITY);
    }
    for (const std::uint32_t id : ids) {
        const float* y = data.targets.data() + static_cast<std::size_t>(id) * k;
        for (std::size_t c = 0; c < k; ++c) {
            if (kind_ == Kind::standardize) {
                a[c] += y[c];
                b[c] += static_cast<double>(y[c]) * y[c];
            } else {
                a[c] = std::min(a[c], static_cast<double>(y[c]));
                b[c] = std::max(b[c], static_cast<double>(y[c]));
            }
        }
    }
    const double n = static_cast<double>(ids.size());
    for (std::size_t c = 0; c < k; ++c) {
        double offset = a[c], spread = b[c] - a[c];
        if (kind_ == Kind::standardize) {
            offset = a[c] / n;
            spread = std::sqrt(std::max(0.0, b[c] / n - offset * offset));
        }
        offset_[c] = static_cast<float>(offset);
        // A constant column keeps scale 1 (scikit-learn's convention): nothing to divide by.
        scale_[c] = spread > 1e-12 * std::max(1.0, std::abs(offset)) ? static_cast<float>(spread)
                                                                       : 1.0f;
    }
}

void TargetScaler::apply(const float* in, float* out, std::size_t rows) const {
    const std::size_t k = width();
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < k; ++c)
            out[r * k + c] = (in[r * k + c] - offset_[c]) / scale_[c];
}

void TargetScaler::invert(float* values, std::size_t rows) const {
    const std::size_t k = width();
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < k; ++c) values[r * k + c] = values[r * k + c] * scale_[c] + offset_[c];
}

std::vector<HostTensor> TargetScaler::state() const {
    const Shape shape{width()};
    return {{"target.offset", shape, offset_}, {"target.scale", shape, scale_}};
}

void TargetScaler::load_state(const std::string& kind_name, const std::vector<HostTensor>& tensors,
                              std::size_t width, const std::string& file) {
    *this = parse(kind_name, file + ": target_transform");
    const Kind kind = kind_;
    identity(width);
    kind_ = kind;
    if (kind_ == Kind::none) return;
    for (const char* name : {"target.offset", "target.scale"}) {
        const HostTensor* found = nullptr;
        for (const auto& t : tensors)
            if (t.name == name) found = &t;
        if (!found)
            throw DataError(file + ": the model's target_transform " + kind_name +
                            " has no tensor '" + name + "'; the file is damaged");
        if (found->values.size() != width)
            throw DataError(file + ": tensor '" + name + "' has " +
                            std::to_string(found->values.size()) + " values for " +
                            std::to_string(width) + " targets; the file is damaged");
        const bool is_scale = std::string_view(name) == "target.scale";
        for (const float v : found->values)
            if (!std::isfinite(v) || (is_scale && v == 0.0f))
                throw DataError(file + ": tensor '" + name + "' holds " + std::to_string(v) +
                                "; the file is damaged");
        (is_scale ? scale_ : offset_) = found->values;
    }
}

}  // namespace plexus::core
