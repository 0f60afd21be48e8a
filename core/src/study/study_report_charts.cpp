#include "study_report_charts.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "plexus/core/reporting/svg_chart.hpp"

namespace plexus::core::svg {

namespace {

constexpr double kLeft = 66, kRight = 16, kTop = 40, kBottom = 48, kInset = 10;

struct Range {
    double lo = std::numeric_limits<double>::infinity();
    double hi = -std::numeric_limits<double>::infinity();
    void add(double v) {
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    }
    bool empty() const { return !(lo <= hi); }
};

bool usable(double x, double y, bool log_x) {
    return std::isfinite(x) && std::isfinite(y) && (!log_x || x > 0.0);
}

// The x axis: categories sit at whole positions, a log axis needs positive values, and
// trial numbers and epochs get whole-number ticks only.
Axis x_axis(const ScatterChart& c, const Range& xs) {
    if (!c.categories.empty()) {
        Axis a;
        a.lo = -0.5;
        a.hi = static_cast<double>(c.categories.size()) - 0.5;
        for (std::size_t i = 0; i < c.categories.size(); ++i) a.ticks.push_back(i);
        return a;
    }
    if (xs.empty()) return linear_axis(0.0, 1.0);
    if (c.x_log) return log_axis(xs.lo, xs.hi);
    Axis a = linear_axis(xs.lo, xs.hi);
    if (c.x_integer) {
        std::erase_if(a.ticks, [](double t) { return t != std::floor(t); });
        a.decimals = 0;
    }
    return a;
}

std::string legend(const std::vector<LegendItem>& items, double x) {
    std::string s;
    for (const LegendItem& it : items) {
        if (it.line)
            s += "<line class=\"swatch\" x1=\"" + px(x) + "\" x2=\"" + px(x + 22) +
                 "\" y1=\"18\" y2=\"18\" stroke=\"" + it.colour + "\"" +
                 (it.dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>";
        else
            s += "<circle cx=\"" + px(x + 11) + "\" cy=\"18\" r=\"4\" fill=\"" + it.colour + "\"/>";
        s += "<text class=\"legend\" x=\"" + px(x + 28) + "\" y=\"18\" dy=\"0.32em\">" +
             escape(it.name) + "</text>\n";
        x += 28 + text_width(utf8_length(it.name)) + 18;
    }
    return s;
}

}  // namespace

std::string scatter_chart(const ScatterChart& c) {
    const double x0 = kLeft, x1 = c.width - kRight, y0 = kTop, y1 = c.height - kBottom;
    const bool categorical = !c.categories.empty();
    bool log_x = c.x_log && !categorical;
    Range xs, ys;
    const auto add = [&](double x, double y) {
        if (std::isfinite(x) && std::isfinite(y)) xs.add(x), ys.add(y);
    };
    for (const Dot& d : c.dots) add(d.x, d.y);
    for (const Polyline& l : c.lines)
        for (const auto& [x, y] : l.points) add(x, y);
    if (log_x && !(xs.lo > 0.0)) log_x = false;  // a value outside the space: plot it linearly
    ScatterChart shown = c;
    shown.x_log = log_x;
    const Axis xa = x_axis(shown, xs);
    const Axis ya = ys.empty() ? linear_axis(0.0, 1.0) : linear_axis(ys.lo, ys.hi);
    const auto xmap = [&](double v) {
        return x0 + kInset + xa.fraction(v) * (x1 - x0 - 2 * kInset);
    };
    const auto ymap = [&](double v) { return y1 - ya.fraction(v) * (y1 - y0); };
    // Values spanning more than the double range (a damaged database) overflow the mapping.
    const auto on_chart = [&](double x, double y) {
        return std::isfinite(xmap(x)) && std::isfinite(ymap(y));
    };

    std::string s = "<svg class=\"chart\" viewBox=\"0 0 " + px(c.width) + " " + px(c.height) +
                    "\" width=\"" + px(c.width) + "\" height=\"" + px(c.height) +
                    "\" role=\"img\" aria-label=\"" + escape(c.y_label) + " by " +
                    escape(c.x_label) + "\">\n";
    s += "<rect class=\"plot\" x=\"" + px(x0) + "\" y=\"" + px(y0) + "\" width=\"" + px(x1 - x0) +
         "\" height=\"" + px(y1 - y0) + "\"/>\n";
    for (const double t : ya.ticks) {
        if (!std::isfinite(ymap(t))) continue;
        const std::string y = px(ymap(t));
        s += "<line class=\"grid\" x1=\"" + px(x0) + "\" x2=\"" + px(x1) + "\" y1=\"" + y +
             "\" y2=\"" + y + "\"/><text class=\"tick\" x=\"" + px(x0 - 6) + "\" y=\"" + y +
             "\" dy=\"0.32em\" text-anchor=\"end\">" + ya.label(t) + "</text>\n";
    }
    const std::size_t max_chars =
        categorical ? std::max<std::size_t>(
                          3, static_cast<std::size_t>((x1 - x0) / c.categories.size() / 7))
                    : 0;
    for (const double t : xa.ticks) {
        if (!std::isfinite(xmap(t))) continue;
        const std::string x = px(xmap(t));
        const std::string label =
            categorical ? escape(shorten(c.categories[static_cast<std::size_t>(t)], max_chars))
                        : xa.label(t);
        s += "<line class=\"axis\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + px(y1) + "\" y2=\"" +
             px(y1 + 5) + "\"/><text class=\"tick\" x=\"" + x + "\" y=\"" + px(y1 + 18) +
             "\" text-anchor=\"middle\">" + label + "</text>\n";
    }
    s += "<text class=\"axis-title\" x=\"" + px((x0 + x1) / 2) + "\" y=\"" + px(c.height - 8) +
         "\" text-anchor=\"middle\">" + escape(c.x_label) + (log_x ? " (log scale)" : "") +
         "</text>\n";
    s += "<text class=\"axis-title\" transform=\"rotate(-90 16 " + px((y0 + y1) / 2) +
         ")\" x=\"16\" y=\"" + px((y0 + y1) / 2) + "\" text-anchor=\"middle\">" +
         escape(c.y_label) + "</text>\n";
    if (xs.empty())
        s += "<text class=\"note\" x=\"" + px((x0 + x1) / 2) + "\" y=\"" + px((y0 + y1) / 2) +
             "\" text-anchor=\"middle\">no values</text>\n";

    for (const Polyline& l : c.lines) {
        std::string points;
        double last_y = 0.0;
        for (const auto& [x, y] : l.points) {
            if (!usable(x, y, log_x) || !on_chart(x, y)) continue;
            if (l.step && !points.empty()) points += " " + px(xmap(x)) + "," + px(last_y);
            last_y = ymap(y);
            points += (points.empty() ? "" : " ") + px(xmap(x)) + "," + px(last_y);
        }
        if (points.empty()) continue;
        s += "<polyline fill=\"none\" stroke=\"" + l.colour + "\" stroke-width=\"" + px(l.width) +
             "\"" + (l.dashed ? " stroke-dasharray=\"6 4\"" : "") + " points=\"" + points + "\">" +
             (l.title.empty() ? "" : "<title>" + escape(l.title) + "</title>") + "</polyline>\n";
    }
    for (const Dot& d : c.dots) {
        if (!usable(d.x, d.y, log_x) || !on_chart(d.x, d.y)) continue;
        const double cx = xmap(d.x), cy = ymap(d.y);
        const std::string title =
            d.title.empty() ? std::string() : "<title>" + escape(d.title) + "</title>";
        if (d.cross)
            s += "<path class=\"cross\" d=\"M" + px(cx - 4) + "," + px(cy - 4) + "L" + px(cx + 4) +
                 "," + px(cy + 4) + "M" + px(cx - 4) + "," + px(cy + 4) + "L" + px(cx + 4) + "," +
                 px(cy - 4) + "\" stroke=\"" + d.colour + "\" stroke-width=\"2\">" + title +
                 "</path>\n";
        else
            s += "<circle class=\"dot\" cx=\"" + px(cx) + "\" cy=\"" + px(cy) +
                 "\" r=\"3.5\" fill=\"" + d.colour + "\">" + title + "</circle>\n";
    }
    s += legend(c.legend, x0);
    return s + "</svg>\n";
}

std::string bar_chart(const std::vector<std::pair<std::string, double>>& bars,
                      const std::string& x_label) {
    constexpr std::size_t kNameChars = 24;
    constexpr double kRow = 24, kBarWidth = 360;
    std::size_t longest = 1;
    for (const auto& bar : bars)
        longest = std::max(longest, std::min(utf8_length(bar.first), kNameChars + 1));
    const double gx = text_width(longest) + 16, width = gx + kBarWidth + 70;
    const double height = kRow * static_cast<double>(bars.size()) + 36;
    std::string s = "<svg class=\"bars\" viewBox=\"0 0 " + px(width) + " " + px(height) +
                    "\" width=\"" + px(width) + "\" height=\"" + px(height) +
                    "\" role=\"img\" aria-label=\"" + escape(x_label) + "\">\n";
    for (std::size_t i = 0; i < bars.size(); ++i) {
        const double v = std::isfinite(bars[i].second) ? std::clamp(bars[i].second, 0.0, 1.0) : 0;
        const double y = kRow * static_cast<double>(i);
        s += "<text class=\"label\" x=\"" + px(gx - 8) + "\" y=\"" + px(y + kRow / 2) +
             "\" dy=\"0.32em\" text-anchor=\"end\">" + escape(shorten(bars[i].first, kNameChars)) +
             "<title>" + escape(bars[i].first) + "</title></text><rect class=\"bar\" x=\"" +
             px(gx) + "\" y=\"" + px(y + 4) + "\" width=\"" + px(std::max(1.0, v * kBarWidth)) +
             "\" height=\"" + px(kRow - 8) + "\"/><text class=\"tick\" x=\"" +
             px(gx + v * kBarWidth + 6) + "\" y=\"" + px(y + kRow / 2) + "\" dy=\"0.32em\">" +
             format_number(100.0 * v, 3) + "%</text>\n";
    }
    const double axis_y = kRow * static_cast<double>(bars.size());
    s += "<line class=\"axis\" x1=\"" + px(gx) + "\" x2=\"" + px(gx + kBarWidth) + "\" y1=\"" +
         px(axis_y + 2) + "\" y2=\"" + px(axis_y + 2) + "\"/><text class=\"axis-title\" x=\"" +
         px(gx + kBarWidth / 2) + "\" y=\"" + px(axis_y + 26) + "\" text-anchor=\"middle\">" +
         escape(x_label) + "</text>\n";
    return s + "</svg>\n";
}

}  // namespace plexus::core::svg
