// The charts of study.html: a scatter chart (optionally with lines, a log or categorical x
// axis) and a horizontal bar chart. Built on the report's axes (plexus/core/reporting/
// svg_chart.hpp); like them, the output is self-contained, well-formed SVG.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace plexus::core::svg {

struct Dot {
    double x = 0.0, y = 0.0;
    std::string colour;
    std::string title;   // tooltip text (escaped when written)
    bool cross = false;  // an × instead of a dot: where a pruned trial stopped
};

struct Polyline {
    std::vector<std::pair<double, double>> points;  // (x, y) in data units, by increasing x
    std::string colour;
    bool dashed = false;
    bool step = false;   // horizontal then vertical between points (a running best)
    double width = 1.5;  // stroke width in pixels
    std::string title;
};

struct LegendItem {
    std::string name;
    std::string colour;
    bool line = false;  // a line swatch; otherwise a dot
    bool dashed = false;
};

struct ScatterChart {
    double width = 600, height = 300;
    std::string x_label, y_label;
    bool x_log = false;                   // log x axis when every finite x is positive
    bool x_integer = false;               // ticks at whole numbers only (trial numbers, epochs)
    std::vector<std::string> categories;  // non-empty: x is an index into them
    std::vector<Polyline> lines;          // drawn under the dots
    std::vector<Dot> dots;
    std::vector<LegendItem> legend;  // above the plot
};

/// The chart; points with a non-finite coordinate (or x <= 0 on a log axis) are left out, and
/// a chart with no point left says so.
std::string scatter_chart(const ScatterChart& chart);

/// Horizontal bars, one row per (name, value), values in [0, 1] written as percentages;
/// non-finite or negative values draw as 0.
std::string bar_chart(const std::vector<std::pair<std::string, double>>& bars,
                      const std::string& x_label);

}  // namespace plexus::core::svg
