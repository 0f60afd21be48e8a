// Inline SVG pieces of the HTML reports (report.html, study.html): axes, learning-curve line
// charts and the confusion-matrix heatmap. Output is self-contained markup (no scripts, no
// external references) that is also well-formed XML, so a report can be checked with an XML
// parser.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace plexus::core::svg {

/// Escapes & < > " ' for HTML text and attribute values.
std::string escape(std::string_view text);

/// `v` with `digits` significant digits ("0.9123", "1.5e-05"); "nan" for NaN.
std::string format_number(double v, int digits = 4);

/// A pixel coordinate as SVG text, one decimal ("12.5").
std::string px(double v);

/// The estimated width in pixels of `chars` characters of text at font size `font`.
double text_width(std::size_t chars, double font = 12.0);

/// The number of characters (UTF-8 code points) of `s`.
std::size_t utf8_length(std::string_view s);

/// At most `limit` (>= 1) characters of `s`, cut on a character boundary, with an ellipsis.
std::string shorten(const std::string& s, std::size_t limit);

/// A chart axis: its range, whether it is logarithmic, and where its ticks go.
struct Axis {
    double lo = 0.0, hi = 1.0;
    bool log = false;
    int decimals = 0;  // of the tick labels of a linear axis
    std::vector<double> ticks;

    /// Where `v` lies between lo (0) and hi (1). requires: v > 0 on a log axis.
    double fraction(double v) const;
    /// The tick label of `v`.
    std::string label(double v) const;
};

/// 1, 2 or 5 times a power of ten, giving about `target` intervals over `span` (> 0).
double nice_step(double span, double target);

/// A linear axis covering [lo, hi] with round ticks; a constant range (lo == hi) is widened
/// around its value. requires: lo, hi finite.
Axis linear_axis(double lo, double hi);

/// A log-10 axis from the decade at or below lo to the one at or above hi (at least one).
/// requires: 0 < lo <= hi, both finite.
Axis log_axis(double lo, double hi);

struct Series {
    std::string name;       // legend text
    std::vector<double> y;  // one value per x; NaN or infinite values leave a gap
    std::string colour;     // CSS colour
    bool dashed = false;
};

struct LineChart {
    std::string y_label;
    std::vector<double> x;  // epochs (integers), increasing
    std::vector<Series> series;
    double best_x = 0.0;     // marked with a dashed vertical line when > 0
    bool allow_log = false;  // log y axis when every value is positive and they span > 10×
    std::string x_label = "epoch";
    bool log_x = false;  // x values > 0 on a log axis (learning rates) instead of integer ticks
    std::string best_label = "best epoch";  // the marker's label and legend entry
    /// A file of its own: the SVG namespace and the chart's styles inline (the report has
    /// them in its stylesheet).
    bool standalone = false;
};

/// A line chart: axes with integer x ticks, y ticks and grid, a legend, one polyline per run
/// of consecutive finite points (each point also gets a dot, so a single epoch still shows).
std::string line_chart(const LineChart& chart);

/// Whether confusion_heatmap() writes the counts in the cells for `classes` classes (with
/// many classes the cells get too small; every cell still has its count as a tooltip).
bool heatmap_shows_counts(std::size_t classes);

/// The confusion matrix (rows true, columns predicted) as a heatmap coloured by the
/// row-normalised value, with counts written in the cells.
std::string confusion_heatmap(const std::vector<std::vector<double>>& confusion,
                              const std::vector<std::string>& class_names);

}  // namespace plexus::core::svg
