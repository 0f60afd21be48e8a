// Inline SVG pieces of the HTML reports (report.html, study.html): axes, learning-curve line
// charts, the confusion-matrix heatmap, and the scatter plots and histograms of a regression.
// Output is self-contained markup (no scripts, no external references) that is also well-formed
// XML, so a report can be checked with an XML parser.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

// Exported like the other reporting headers: the tests check the pieces one by one.
#pragma GCC visibility push(default)

namespace plexus::core::svg {

/// Escapes & < > " ' for HTML text and attribute values; control characters other than line
/// breaks and tabs (not allowed in XML, so in an inline SVG) become \xNN as in messages.
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
    /// When set, x values are indices into x_names (a series' timestamps), and the ticks,
    /// spaced so that the names fit, are labelled with the names instead of numbers.
    std::vector<std::string> x_names;
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

/// At most `limit` (>= 2) indices of [0, n), evenly spread, the first and the last included:
/// the points a chart draws of a large set, so that a report stays small. All of them when
/// n <= limit.
std::vector<std::size_t> decimate(std::size_t n, std::size_t limit);

/// A parity plot: points (x[i], y[i]) on a square plot whose two axes share one range, with
/// the line y = x dashed across it: predicted against true values, where a perfect model lies
/// on the line. Non-finite points are skipped (and counted in a note).
struct ParityChart {
    std::string x_label, y_label;
    std::vector<double> x, y;
    std::string colour = "#1f77b4";
    std::string diagonal_label = "predicted = true";
};
std::string parity_chart(const ParityChart& chart);

/// How often the values fall into each of `bins` equal bins over their range (0: about the
/// square root of the count, 5 to 40), drawn as bars; a dashed line marks zero when it lies
/// in the range. Non-finite values are left out (and counted in a note).
struct HistogramChart {
    std::string x_label;
    std::vector<double> values;
    std::size_t bins = 0;
    std::string colour = "#1f77b4";
};
std::string histogram_chart(const HistogramChart& chart);

}  // namespace plexus::core::svg

#pragma GCC visibility pop
