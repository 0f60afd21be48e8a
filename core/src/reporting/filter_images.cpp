#include "filter_images.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "plexus/core/reporting/svg_chart.hpp"

namespace plexus::core::svg {
namespace {

std::uint8_t scaled(float v, float lo, float hi) {
    if (!(hi > lo)) return 128;  // constant (or non-finite) filter: nothing to stretch
    return static_cast<std::uint8_t>(
        std::lround(255.0f * std::clamp((v - lo) / (hi - lo), 0.0f, 1.0f)));
}

}  // namespace

std::vector<std::string> filter_colours(const HostTensor& kernel) {
    const Shape& s = kernel.shape;
    const std::size_t filters = s[0], channels = s[1], pixels = s[2] * s[3];
    const bool rgb = channels == 3;
    std::vector<std::string> out;
    out.reserve(filters * pixels);
    std::vector<float> plane(rgb ? 3 * pixels : pixels);
    for (std::size_t f = 0; f < filters; ++f) {
        const float* w = kernel.values.data() + f * channels * pixels;
        if (rgb) {
            std::copy(w, w + 3 * pixels, plane.begin());
        } else {
            std::fill(plane.begin(), plane.end(), 0.0f);
            for (std::size_t c = 0; c < channels; ++c)
                for (std::size_t p = 0; p < pixels; ++p)
                    plane[p] += w[c * pixels + p] / static_cast<float>(channels);
        }
        float lo = INFINITY, hi = -INFINITY;
        for (float v : plane)
            if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
        for (std::size_t p = 0; p < pixels; ++p) {
            const std::uint8_t r = scaled(plane[p], lo, hi);
            const std::uint8_t g = rgb ? scaled(plane[pixels + p], lo, hi) : r;
            const std::uint8_t b = rgb ? scaled(plane[2 * pixels + p], lo, hi) : r;
            out.push_back(fmt::format("#{:02x}{:02x}{:02x}", r, g, b));
        }
    }
    return out;
}

std::string filter_figure(const HostTensor& kernel, int scale) {
    const Shape& s = kernel.shape;
    if (s.rank() != 4 || kernel.values.size() != s.numel() || s.numel() == 0) return "";
    const std::vector<std::string> colours = filter_colours(kernel);
    const std::size_t kh = s[2], kw = s[3];
    std::string out = "<div class=\"filters\">\n";
    for (std::size_t f = 0; f < s[0]; ++f) {
        out += fmt::format(
            "<svg class=\"filter\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" "
            "height=\"{}\" viewBox=\"0 0 {} {}\" shape-rendering=\"crispEdges\"><title>filter "
            "{}</title>",
            kw * scale, kh * scale, kw, kh, f);
        for (std::size_t y = 0; y < kh; ++y)
            for (std::size_t x = 0; x < kw; ++x)
                out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"1\" height=\"1\" fill=\"{}\"/>",
                                   x, y, colours[(f * kh + y) * kw + x]);
        out += "</svg>\n";
    }
    return out + "</div>\n";
}

}  // namespace plexus::core::svg
