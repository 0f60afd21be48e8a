#include "plexus/core/reporting/svg_chart.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace plexus::core::svg {

std::string escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default: {
                // Control characters (other than line breaks and tabs) are not allowed in XML,
                // so an inline SVG holding one breaks; they show escaped as in messages.
                const auto u = static_cast<unsigned char>(c);
                if ((u < 0x20 && c != '\n' && c != '\t' && c != '\r') || u == 0x7f)
                    out += fmt::format("\\x{:02x}", u);
                else
                    out += c;
            }
        }
    }
    return out;
}

std::string format_number(double v, int digits) {
    if (std::isnan(v)) return "nan";
    return fmt::format("{:.{}g}", v, digits);
}

// Pixel coordinates: one decimal is plenty and keeps the file small.
std::string px(double v) {
    return fmt::format("{:.1f}", v);
}

double Axis::fraction(double v) const {
    return log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo))
               : (v - lo) / (hi - lo);
}

std::string Axis::label(double v) const {
    if (log) return format_number(v, 3);
    return fmt::format("{:.{}f}", v, decimals);
}

// 1, 2 or 5 times a power of ten, giving about `target` intervals over `span`.
double nice_step(double span, double target) {
    const double raw = span / target;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    const double n = raw / mag;
    return (n < 1.5 ? 1.0 : n < 3.0 ? 2.0 : n < 7.0 ? 5.0 : 10.0) * mag;
}

Axis linear_axis(double lo, double hi) {
    if (!(hi > lo)) {  // a constant series still gets a readable range around its value
        const double pad = lo == 0.0 ? 1.0 : std::abs(lo) * 0.1;
        lo -= pad;
        hi += pad;
    }
    Axis a;
    const double step = nice_step(hi - lo, 5.0);
    if (!std::isfinite(step) || step <= 0.0) {  // values too large to subdivide
        a.lo = lo;
        a.hi = hi;
        a.ticks = {lo, hi};
        return a;
    }
    a.lo = std::floor(lo / step + 1e-9) * step;
    a.hi = std::ceil(hi / step - 1e-9) * step;
    for (int i = 0;; ++i) {
        const double t = a.lo + i * step;
        if (t > a.hi + step * 1e-6) break;
        a.ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
    }
    a.decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
    return a;
}

Axis log_axis(double lo, double hi) {
    Axis a;
    a.log = true;
    const int e0 = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
    int e1 = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
    if (e1 == e0) ++e1;
    a.lo = std::pow(10.0, e0);
    a.hi = std::pow(10.0, e1);
    const bool fine = e1 - e0 <= 2;       // few decades: label 2× and 5× too
    const int every = (e1 - e0 + 7) / 8;  // many decades: label every second, third, ...
    for (int e = e0; e <= e1; ++e) {
        const double d = std::pow(10.0, e);
        if ((e - e0) % every == 0) a.ticks.push_back(d);
        if (fine && e < e1) {
            a.ticks.push_back(2 * d);
            a.ticks.push_back(5 * d);
        }
    }
    return a;
}

double text_width(std::size_t chars, double font) {
    return chars * font * 0.58;
}

std::size_t utf8_length(std::string_view s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char ch) { return (ch & 0xC0) != 0x80; }));
}

std::string shorten(const std::string& s, std::size_t limit) {
    if (utf8_length(s) <= limit) return s;
    std::size_t chars = 0, i = 0;
    for (; i < s.size(); ++i)
        if ((s[i] & 0xC0) != 0x80 && chars++ == limit - 1) break;
    return s.substr(0, i) + "\u2026";
}

namespace {

// The x axis: epochs get integer ticks (a single epoch sits in the middle), a series' indices
// the names they stand for; learning rates a log axis.
struct XScale {
    Axis axis;
    bool epochs = true;
    const std::vector<std::string>* names = nullptr;
    std::string label(double v) const {
        if (names) {
            const double i = std::round(v);
            return i >= 0 && i < static_cast<double>(names->size())
                       ? escape(shorten((*names)[static_cast<std::size_t>(i)], 24))
                       : std::string();
        }
        return epochs ? format_number(v, 6) : axis.label(v);
    }
};

XScale epoch_scale(double xmin, double xmax, double intervals = 8.0) {
    XScale xs;
    xs.axis.lo = xmax > xmin ? xmin : xmin - 1.0;
    xs.axis.hi = xmax > xmin ? xmax : xmax + 1.0;
    const double xstep =
        std::max(1.0, std::round(nice_step(std::max(xmax - xmin, 1.0), intervals)));
    const double first = std::ceil(xmin / xstep) * xstep;
    if (first - xmin >= xstep * 0.5) xs.axis.ticks.push_back(xmin);
    for (double t = first; t <= xmax + 1e-9; t += xstep) xs.axis.ticks.push_back(t);
    return xs;
}

XScale log_x_scale(double xmin, double xmax) {
    XScale xs;
    xs.axis = log_axis(xmin, xmax);
    xs.epochs = false;
    return xs;
}

/// Width of `text` at the 12 px of tick and legend labels, on the safe side: DejaVu Sans digits
/// are 0.64 em, wider than text_width()'s average character.
double label_width(const std::string& text) {
    return static_cast<double>(utf8_length(text)) * 12.0 * 0.66;
}

/// Where each legend entry (the series, then the best-epoch marker) goes: rows above the plot,
/// wrapped at the chart's right edge, and the plot's top below the last row with room for the
/// best-epoch label between them.
struct Legend {
    struct Place {
        double x, y;
    };
    std::vector<Place> places;
    double top = 40;
};

Legend legend_rows(const LineChart& c, double left, double right) {
    std::vector<std::string> names;
    for (const Series& sr : c.series) names.push_back(sr.name);
    if (c.best_x > 0.0) names.push_back(c.best_label);
    Legend l;
    double x = left, y = 14;
    for (const std::string& name : names) {
        const double w = 28 + label_width(name);
        if (x > left && x + w > right) x = left, y += 16;
        l.places.push_back({x, y});
        x += w + 18;
    }
    l.top = y + 28;
    return l;
}

// The rules of the report's stylesheet that a chart uses, for a chart in a file of its own.
constexpr const char* kStandaloneStyle =
    "<style>text{font-family:sans-serif}.tick,.legend{font-size:12px;fill:#333}"
    ".axis-title{font-size:13px;fill:#222}.note{font-size:13px;fill:#888}"
    ".best-label{font-size:12px;fill:#c0392b}.plot{fill:#fff;stroke:#b8b8b8}"
    ".grid{stroke:#ececec}.axis{stroke:#888}.line{stroke-width:2;stroke-linejoin:round}"
    ".swatch{stroke-width:2.5}"
    ".best{stroke:#c0392b;stroke-width:1.5;stroke-dasharray:5 4}.best-dot{stroke-width:1.5}"
    "</style>\n";

}  // namespace

std::string line_chart(const LineChart& c) {
    constexpr double W = 600, H = 300, R = 16, B = 48, inset = 10;
    // The y range covers every finite value of every series.
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const Series& sr : c.series)
        for (const double v : sr.y)
            if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    const bool any = lo <= hi;
    const Axis ya = !any                                      ? linear_axis(0.0, 1.0)
                    : c.allow_log && lo > 0.0 && hi > 10 * lo ? log_axis(lo, hi)
                                                              : linear_axis(lo, hi);
    // Room on the left for the widest tick label beside the rotated y title (which takes the
    // first 24 px), measured, not assumed: log-scale labels such as "1e-09" are wide.
    double widest = 0.0;
    for (const double t : ya.ticks) widest = std::max(widest, label_width(ya.label(t)));
    const double L = std::max(66.0, 24.0 + widest + 12.0);
    const Legend legend = legend_rows(c, L, W - R);
    const double T = legend.top;
    const double x0 = L, x1 = W - R, y0 = T, y1 = H - B;
    std::string s = std::string("<svg ") +
                    (c.standalone ? "xmlns=\"http://www.w3.org/2000/svg\" " : "") +
                    "class=\"chart\" viewBox=\"0 0 600 300\" width=\"600\" height=\"300\" "
                    "role=\"img\" aria-label=\"" +
                    escape(c.y_label) + " by " + escape(c.x_label) + "\">\n";
    if (c.standalone) s += kStandaloneStyle;
    s += "<rect class=\"plot\" x=\"" + px(x0) + "\" y=\"" + px(y0) + "\" width=\"" + px(x1 - x0) +
         "\" height=\"" + px(y1 - y0) + "\"/>\n";
    const auto ymap = [&](double v) { return y1 - ya.fraction(v) * (y1 - y0); };

    // Epochs: integer ticks, a single epoch sits in the middle.
    double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin;
    const auto x_ok = [&](double v) { return std::isfinite(v) && (!c.log_x || v > 0.0); };
    for (const double v : c.x)
        if (x_ok(v)) xmin = std::min(xmin, v), xmax = std::max(xmax, v);
    if (!(xmin <= xmax)) xmin = xmax = 1.0;
    XScale xs = c.log_x ? log_x_scale(xmin, xmax) : epoch_scale(xmin, xmax);
    if (!c.x_names.empty() && !c.log_x) {  // as many ticks as names fit side by side
        std::size_t longest = 1;
        for (const std::string& n : c.x_names) longest = std::max(longest, utf8_length(n));
        const double fit = (x1 - x0) / (text_width(std::min<std::size_t>(longest, 25)) + 16);
        xs = epoch_scale(xmin, xmax, std::clamp(0.6 * fit, 1.0, 8.0));
        xs.names = &c.x_names;
    }
    const auto xmap = [&](double v) {
        return x0 + inset + xs.axis.fraction(v) * (x1 - x0 - 2 * inset);
    };
    const std::vector<double>& xticks = xs.axis.ticks;

    for (const double t : ya.ticks) {
        const std::string y = px(ymap(t));
        s += "<line class=\"grid\" x1=\"" + px(x0) + "\" x2=\"" + px(x1) + "\" y1=\"" + y +
             "\" y2=\"" + y + "\"/><text class=\"tick\" x=\"" + px(x0 - 6) + "\" y=\"" + y +
             "\" dy=\"0.32em\" text-anchor=\"end\">" + ya.label(t) + "</text>\n";
    }
    for (const double t : xticks) {
        const std::string x = px(xmap(t));
        s += "<line class=\"axis\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + px(y1) + "\" y2=\"" +
             px(y1 + 5) + "\"/><text class=\"tick\" x=\"" + x + "\" y=\"" + px(y1 + 18) +
             "\" text-anchor=\"middle\">" + xs.label(t) + "</text>\n";
    }
    s += "<text class=\"axis-title\" x=\"" + px((x0 + x1) / 2) + "\" y=\"" + px(H - 8) +
         "\" text-anchor=\"middle\">" + escape(c.x_label) + (c.log_x ? " (log scale)" : "") +
         "</text>\n";
    // The y title along the plot's height, shortened to fit it.
    const std::string y_title = c.y_label + (ya.log ? " (log scale)" : "");
    const auto fit = static_cast<std::size_t>(std::max(4.0, (y1 - y0) / (13.0 * 0.62)));
    s += "<text class=\"axis-title\" transform=\"rotate(-90 16 " + px((y0 + y1) / 2) +
         ")\" x=\"16\" y=\"" + px((y0 + y1) / 2) + "\" text-anchor=\"middle\">" +
         escape(shorten(y_title, fit)) + "</text>\n";
    if (!any)
        s += "<text class=\"note\" x=\"" + px((x0 + x1) / 2) + "\" y=\"" + px((y0 + y1) / 2) +
             "\" text-anchor=\"middle\">no finite values</text>\n";

    // The best epoch: a dashed vertical line, labelled above the plot (inside it, the label
    // would sit on whichever curve peaks there: accuracy at its best epoch does).
    const bool best = c.best_x > 0.0 && c.best_x >= xmin && c.best_x <= xmax;
    if (best) {
        const double bx = xmap(c.best_x);
        const std::string text = c.best_label + " " + format_number(c.best_x, c.log_x ? 3 : 6);
        const double half = label_width(text) / 2;
        const double mid = std::clamp(bx, x0 + half, x1 - half);
        s += "<line class=\"best\" x1=\"" + px(bx) + "\" x2=\"" + px(bx) + "\" y1=\"" + px(y0) +
             "\" y2=\"" + px(y1) + "\"/><text class=\"best-label\" x=\"" + px(mid) + "\" y=\"" +
             px(y0 - 6) + "\" text-anchor=\"middle\">" + escape(text) + "</text>\n";
    }

    // Series: a polyline per run of finite points, a dot on every point.
    const bool dots = c.x.size() <= 60;
    for (std::size_t k = 0; k < c.series.size(); ++k) {
        const Series& sr = c.series[k];
        const std::string dash = sr.dashed ? " stroke-dasharray=\"6 4\"" : "";
        std::vector<std::pair<double, double>> run;
        const auto flush = [&] {
            if (run.size() >= 2) {
                s += "<polyline class=\"line\" fill=\"none\" stroke=\"" + sr.colour + "\"" + dash +
                     " points=\"";
                for (std::size_t i = 0; i < run.size(); ++i)
                    s += (i ? " " : "") + px(run[i].first) + "," + px(run[i].second);
                s += "\"/>\n";
            }
            run.clear();
        };
        for (std::size_t i = 0; i < sr.y.size() && i < c.x.size(); ++i) {
            const double v = sr.y[i];
            const bool ok = std::isfinite(v) && x_ok(c.x[i]) && (!ya.log || v > 0.0);
            if (!ok) {
                flush();
                continue;
            }
            const double cx = xmap(c.x[i]), cy = ymap(v);
            run.emplace_back(cx, cy);
            const bool alone = (i == 0 || !std::isfinite(sr.y[i - 1])) &&
                               (i + 1 >= sr.y.size() || !std::isfinite(sr.y[i + 1]));
            if (dots || alone)
                s += "<circle class=\"dot\" cx=\"" + px(cx) + "\" cy=\"" + px(cy) +
                     "\" r=\"3\" fill=\"" + sr.colour + "\"/>\n";
            if (best && c.x[i] == c.best_x)
                s += "<circle class=\"best-dot\" cx=\"" + px(cx) + "\" cy=\"" + px(cy) +
                     "\" r=\"6\" fill=\"none\" stroke=\"" + sr.colour + "\"/>\n";
        }
        flush();
        const Legend::Place& at = legend.places[k];
        s += "<line class=\"swatch\" x1=\"" + px(at.x) + "\" x2=\"" + px(at.x + 22) + "\" y1=\"" +
             px(at.y) + "\" y2=\"" + px(at.y) + "\" stroke=\"" + sr.colour + "\"" + dash +
             "/><text class=\"legend\" x=\"" + px(at.x + 28) + "\" y=\"" + px(at.y) +
             "\" dy=\"0.32em\">" + escape(sr.name) + "</text>\n";
    }
    if (best) {
        const Legend::Place& at = legend.places.back();
        s += "<line class=\"best\" x1=\"" + px(at.x) + "\" x2=\"" + px(at.x + 22) + "\" y1=\"" +
             px(at.y) + "\" y2=\"" + px(at.y) + "\"/><text class=\"legend\" x=\"" +
             px(at.x + 28) + "\" y=\"" + px(at.y) + "\" dy=\"0.32em\">" + escape(c.best_label) +
             "</text>\n";
    }
    s += "</svg>\n";
    return s;
}

namespace {

// ColorBrewer "Blues", light to dark.
constexpr std::array<std::array<int, 3>, 9> kBlues{{{247, 251, 255},
                                                    {222, 235, 247},
                                                    {198, 219, 239},
                                                    {158, 202, 225},
                                                    {107, 174, 214},
                                                    {66, 146, 198},
                                                    {33, 113, 181},
                                                    {8, 81, 156},
                                                    {8, 48, 107}}};

std::array<double, 3> blues(double t) {
    t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * (kBlues.size() - 1);
    const std::size_t i = std::min(static_cast<std::size_t>(t), kBlues.size() - 2);
    const double f = t - static_cast<double>(i);
    std::array<double, 3> c{};
    for (int k = 0; k < 3; ++k) c[k] = kBlues[i][k] + f * (kBlues[i + 1][k] - kBlues[i][k]);
    return c;
}

std::string rgb(const std::array<double, 3>& c) {
    return fmt::format("rgb({},{},{})", std::lround(c[0]), std::lround(c[1]), std::lround(c[2]));
}

// Dark text on light cells, white text on dark ones (relative luminance, sRGB approximated).
const char* text_colour(const std::array<double, 3>& c) {
    const double lum = (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255.0;
    return lum < 0.5 ? "#ffffff" : "#1a1a1a";
}

std::string count_text(double v) {
    if (std::isfinite(v) && v == std::floor(v) && std::abs(v) < 1e15) {
        return fmt::format("{:.0f}", v);
    }
    return format_number(v, 3);
}

double cell_size(std::size_t classes) {
    return std::clamp(std::floor(480.0 / static_cast<double>(std::max<std::size_t>(classes, 1))),
                      14.0, 52.0);
}

}  // namespace

bool heatmap_shows_counts(std::size_t classes) {
    return cell_size(classes) >= 22;
}

std::string confusion_heatmap(const std::vector<std::vector<double>>& m,
                              const std::vector<std::string>& class_names) {
    constexpr std::size_t kLabelChars = 20;
    const std::size_t n = m.size();
    std::vector<std::string> names(n);
    std::size_t longest = 1;
    for (std::size_t i = 0; i < n; ++i) {
        names[i] = i < class_names.size() ? class_names[i] : std::to_string(i);
        longest = std::max(longest, std::min(utf8_length(names[i]), kLabelChars + 1));
    }
    const double cell = cell_size(n);
    const bool counts = heatmap_shows_counts(n);
    const double label_w = text_width(longest) + 10;
    const bool rotate = text_width(longest) > cell - 4;
    const double col_h = rotate ? text_width(longest) * 0.72 + 14 : 20;
    const double gx = 24 + label_w, gy = 8, size = cell * n;
    const double width = gx + size + 80, height = gy + size + col_h + 30;

    std::string s = "<svg class=\"heatmap\" viewBox=\"0 0 " + px(width) + " " + px(height) +
                    "\" width=\"" + px(width) + "\" height=\"" + px(height) +
                    "\" role=\"img\" aria-label=\"confusion matrix\">\n<defs><linearGradient "
                    "id=\"plexus-cm-scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">";
    for (std::size_t k = 0; k < kBlues.size(); ++k)
        s += "<stop offset=\"" + format_number(static_cast<double>(k) / (kBlues.size() - 1), 3) +
             "\" stop-color=\"" + rgb(blues(static_cast<double>(k) / (kBlues.size() - 1))) + "\"/>";
    s += "</linearGradient></defs>\n";

    for (std::size_t i = 0; i < n; ++i) {
        double row_sum = 0.0;
        for (const double v : m[i]) row_sum += std::isfinite(v) ? v : 0.0;
        const double cy = gy + cell * i;
        s += "<text class=\"label\" x=\"" + px(gx - 6) + "\" y=\"" + px(cy + cell / 2) +
             "\" dy=\"0.32em\" text-anchor=\"end\">" + escape(shorten(names[i], kLabelChars)) +
             "</text>\n";
        for (std::size_t j = 0; j < n; ++j) {
            const double v = j < m[i].size() ? m[i][j] : 0.0;
            const double share = row_sum > 0.0 ? v / row_sum : 0.0;
            const auto colour = blues(share);
            const double cx = gx + cell * j;
            s += "<rect class=\"cell\" x=\"" + px(cx) + "\" y=\"" + px(cy) + "\" width=\"" +
                 px(cell) + "\" height=\"" + px(cell) + "\" fill=\"" + rgb(colour) +
                 "\"><title>true " + escape(names[i]) + ", predicted " + escape(names[j]) + ": " +
                 count_text(v) + " (" + format_number(100.0 * share, 3) +
                 "% of the row)</title></rect>";
            if (counts)
                s += "<text class=\"count\" x=\"" + px(cx + cell / 2) + "\" y=\"" +
                     px(cy + cell / 2) + "\" dy=\"0.35em\" text-anchor=\"middle\" fill=\"" +
                     text_colour(colour) + "\" font-size=\"" + px(std::min(12.0, cell * 0.3)) +
                     "\">" + count_text(v) + "</text>";
            s += "\n";
        }
    }
    s += "<rect class=\"frame\" x=\"" + px(gx) + "\" y=\"" + px(gy) + "\" width=\"" + px(size) +
         "\" height=\"" + px(size) + "\"/>\n";
    for (std::size_t j = 0; j < n; ++j) {
        const double cx = gx + cell * j + cell / 2, ly = gy + size + (rotate ? 10 : 15);
        s += "<text class=\"label\" x=\"" + px(cx) + "\" y=\"" + px(ly) + "\"" +
             (rotate ? " text-anchor=\"end\" dy=\"0.32em\" transform=\"rotate(-45 " + px(cx) + " " +
                           px(ly) + ")\""
                     : " text-anchor=\"middle\"") +
             ">" + escape(shorten(names[j], kLabelChars)) + "</text>\n";
    }
    s += "<text class=\"axis-title\" x=\"" + px(gx + size / 2) + "\" y=\"" +
         px(gy + size + col_h + 18) + "\" text-anchor=\"middle\">predicted class</text>\n";
    s += "<text class=\"axis-title\" transform=\"rotate(-90 14 " + px(gy + size / 2) +
         ")\" x=\"14\" y=\"" + px(gy + size / 2) + "\" text-anchor=\"middle\">true class</text>\n";

    // Colour scale: share of the true class's samples.
    const double bx = gx + size + 16;
    s += "<rect class=\"scale\" x=\"" + px(bx) + "\" y=\"" + px(gy) + "\" width=\"12\" height=\"" +
         px(size) + "\" fill=\"url(#plexus-cm-scale)\"/>\n";
    for (const double t : {0.0, 0.5, 1.0})
        s += "<text class=\"tick\" x=\"" + px(bx + 16) + "\" y=\"" + px(gy + size * (1 - t)) +
             "\" dy=\"0.32em\">" + format_number(100 * t, 3) + "%</text>\n";
    s += "</svg>\n";
    return s;
}

}  // namespace plexus::core::svg
