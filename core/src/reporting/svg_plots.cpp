// The charts of a regression: predicted against true values, and the residuals' histogram.
// Points are drawn as zero-length strokes with round caps, one path for all of them (about 14
// bytes a point instead of 60 for a <circle>), which SVG renders as dots.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "plexus/core/reporting/svg_chart.hpp"

namespace plexus::core::svg {

std::vector<std::size_t> decimate(std::size_t n, std::size_t limit) {
    std::vector<std::size_t> out;
    if (n <= limit || limit < 2) {
        for (std::size_t i = 0; i < n; ++i) out.push_back(i);
        return out;
    }
    // i * (n - 1) / (limit - 1), rounded, in integers: exact at both ends, no overflow for any
    // n a vector can hold next to the limits a report uses.
    for (std::size_t j = 0; j < limit; ++j)
        out.push_back(static_cast<std::size_t>(std::llround(
            static_cast<double>(j) * static_cast<double>(n - 1) / static_cast<double>(limit - 1))));
    return out;
}

namespace {

constexpr double kW = 420, kH = 400, kL = 70, kR = 16, kT = 40, kB = 48;

struct Frame {
    double x0 = kL, x1 = kW - kR, y0 = kT, y1 = kH - kB;
    Axis xa, ya;
    double x(double v) const { return x0 + xa.fraction(v) * (x1 - x0); }
    double y(double v) const { return y1 - ya.fraction(v) * (y1 - y0); }
};

std::string open_svg(const std::string& label) {
    return "<svg class=\"chart\" viewBox=\"0 0 420 400\" width=\"420\" height=\"400\" "
           "role=\"img\" aria-label=\"" +
           escape(label) + "\">\n";
}

// The plot area, grid lines and tick labels of both axes, and the axis titles.
std::string frame_markup(const Frame& f, const std::string& x_label, const std::string& y_label) {
    std::string s = "<rect class=\"plot\" x=\"" + px(f.x0) + "\" y=\"" + px(f.y0) + "\" width=\"" +
                    px(f.x1 - f.x0) + "\" height=\"" + px(f.y1 - f.y0) + "\"/>\n";
    for (const double t : f.ya.ticks) {
        const std::string y = px(f.y(t));
        s += "<line class=\"grid\" x1=\"" + px(f.x0) + "\" x2=\"" + px(f.x1) + "\" y1=\"" + y +
             "\" y2=\"" + y + "\"/><text class=\"tick\" x=\"" + px(f.x0 - 6) + "\" y=\"" + y +
             "\" dy=\"0.32em\" text-anchor=\"end\">" + f.ya.label(t) + "</text>\n";
    }
    for (const double t : f.xa.ticks) {
        const std::string x = px(f.x(t));
        s += "<line class=\"grid\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + px(f.y0) +
             "\" y2=\"" + px(f.y1) + "\"/><text class=\"tick\" x=\"" + x + "\" y=\"" +
             px(f.y1 + 18) + "\" text-anchor=\"middle\">" + f.xa.label(t) + "</text>\n";
    }
    const double mid_y = (f.y0 + f.y1) / 2;
    s += "<text class=\"axis-title\" x=\"" + px((f.x0 + f.x1) / 2) + "\" y=\"" + px(kH - 8) +
         "\" text-anchor=\"middle\">" + escape(shorten(x_label, 48)) + "</text>\n";
    s += "<text class=\"axis-title\" transform=\"rotate(-90 16 " + px(mid_y) + ")\" x=\"16\" y=\"" +
         px(mid_y) + "\" text-anchor=\"middle\">" + escape(shorten(y_label, 48)) + "</text>\n";
    return s;
}

std::string note(const Frame& f, const std::string& text, double dy = 0) {
    return "<text class=\"note\" x=\"" + px((f.x0 + f.x1) / 2) + "\" y=\"" +
           px((f.y0 + f.y1) / 2 + dy) + "\" text-anchor=\"middle\">" + escape(text) + "</text>\n";
}

std::string legend(double x, const std::string& swatch, const std::string& text) {
    return swatch + "<text class=\"legend\" x=\"" + px(x + 28) + "\" y=\"18\" dy=\"0.32em\">" +
           escape(text) + "</text>\n";
}

}  // namespace

std::string parity_chart(const ParityChart& c) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    std::size_t skipped = 0;
    for (std::size_t i = 0; i < c.x.size() && i < c.y.size(); ++i) {
        if (!std::isfinite(c.x[i]) || !std::isfinite(c.y[i])) {
            ++skipped;
            continue;
        }
        lo = std::min({lo, c.x[i], c.y[i]});
        hi = std::max({hi, c.x[i], c.y[i]});
    }
    const bool any = lo <= hi;
    Frame f;
    f.xa = f.ya = any ? linear_axis(lo, hi) : linear_axis(0.0, 1.0);
    std::string s =
        open_svg(c.y_label + " against " + c.x_label) + frame_markup(f, c.x_label, c.y_label);
    const std::string diagonal_style =
        "stroke=\"#888\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"";
    s += "<line " + diagonal_style + " x1=\"" + px(f.x(f.xa.lo)) + "\" y1=\"" + px(f.y(f.ya.lo)) +
         "\" x2=\"" + px(f.x(f.xa.hi)) + "\" y2=\"" + px(f.y(f.ya.hi)) + "\"/>\n";
    if (any) {
        s += "<path fill=\"none\" stroke=\"" + c.colour +
             "\" stroke-opacity=\"0.55\" stroke-width=\"5\" stroke-linecap=\"round\" d=\"";
        for (std::size_t i = 0; i < c.x.size() && i < c.y.size(); ++i)
            if (std::isfinite(c.x[i]) && std::isfinite(c.y[i]))
                s += "M" + px(f.x(c.x[i])) + " " + px(f.y(c.y[i])) + "h0";
        s += "\"/>\n";
    } else {
        s += note(f, "no finite values");
    }
    if (skipped > 0)
        s += note(
            f,
            std::to_string(skipped) + " non-finite point" + (skipped == 1 ? "" : "s") + " left out",
            any ? (f.y1 - f.y0) / 2 - 14 : 18);
    s += legend(f.x0,
                "<line x1=\"" + px(f.x0) + "\" x2=\"" + px(f.x0 + 22) + "\" y1=\"18\" y2=\"18\" " +
                    diagonal_style + "/>",
                c.diagonal_label);
    return s + "</svg>\n";
}

std::string histogram_chart(const HistogramChart& c) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    std::size_t finite = 0;
    for (const double v : c.values)
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v), ++finite;
    const std::size_t bins =
        c.bins > 0
            ? c.bins
            : std::clamp<std::size_t>(
                  static_cast<std::size_t>(std::ceil(std::sqrt(static_cast<double>(finite)))), 5,
                  40);
    Frame f;
    f.xa = finite ? linear_axis(lo, hi) : linear_axis(0.0, 1.0);
    if (finite && !(hi > lo)) lo = f.xa.lo, hi = f.xa.hi;  // one value: one bar across the axis
    std::vector<double> counts(bins, 0.0);
    const double width = (hi - lo) / static_cast<double>(bins);
    for (const double v : c.values)
        if (std::isfinite(v)) {
            const double at = std::floor((v - lo) / width);
            counts[static_cast<std::size_t>(std::clamp(at, 0.0, static_cast<double>(bins - 1)))] +=
                1;
        }
    const double most = *std::max_element(counts.begin(), counts.end());
    f.ya = linear_axis(0.0, std::max(most, 1.0));
    std::string s = open_svg("histogram of " + c.x_label) + frame_markup(f, c.x_label, "samples");
    for (std::size_t b = 0; b < bins && finite; ++b) {
        const double left = lo + width * static_cast<double>(b), right = left + width;
        const double top = f.y(counts[b]);
        s += "<rect fill=\"" + c.colour + "\" fill-opacity=\"0.8\" stroke=\"#fff\" x=\"" +
             px(f.x(left)) + "\" y=\"" + px(top) + "\" width=\"" + px(f.x(right) - f.x(left)) +
             "\" height=\"" + px(f.y1 - top) + "\"><title>" + format_number(left) + " to " +
             format_number(right) + ": " + fmt::format("{:.0f}", counts[b]) + "</title></rect>\n";
    }
    if (!finite) s += note(f, "no finite values");
    if (finite < c.values.size())
        s += note(f, std::to_string(c.values.size() - finite) + " non-finite left out", -14);
    if (finite && f.xa.lo < 0.0 && f.xa.hi > 0.0) {
        const std::string zero = px(f.x(0.0));
        s += "<line stroke=\"#c0392b\" stroke-width=\"1.5\" stroke-dasharray=\"5 4\" x1=\"" + zero +
             "\" x2=\"" + zero + "\" y1=\"" + px(f.y0) + "\" y2=\"" + px(f.y1) + "\"/>\n";
    }
    return s + "</svg>\n";
}

}  // namespace plexus::core::svg
