#include "regression_html.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "plexus/core/reporting/svg_chart.hpp"

namespace plexus::core {
namespace {

constexpr const char* kTruthColour = "#1f77b4";
constexpr const char* kForecastColour = "#ff7f0e";
constexpr const char* kResidualColour = "#7b4fa6";

std::string cell_text(const std::string& column, double v) {
    if (!std::isfinite(v)) return "n/a";
    return column == "samples" ? fmt::format("{:.0f}", v) : svg::format_number(v, 4);
}

std::string table_section(const RegressionResults& r) {
    const MetricTable t = regression_report(r);
    const std::size_t cols = t.column_labels.size();
    std::string s = "<section id=\"regression\"><h2>Regression report</h2><p>" +
                    svg::escape(r.set_name) + " set, " + std::to_string(r.samples()) +
                    " samples; errors in each target's own units (mape is a fraction).</p>"
                    "<table>\n<tr><th>target</th>";
    for (const std::string& c : t.column_labels) s += "<th>" + svg::escape(c) + "</th>";
    s += "</tr>\n";
    for (std::size_t row = 0; row < t.row_labels.size(); ++row) {
        const bool all = row + 1 == t.row_labels.size() && t.row_labels.size() > r.width();
        s += all ? "<tr class=\"summary first-summary\">" : "<tr>";
        s += "<td>" + svg::escape(t.row_labels[row]) + "</td>";
        for (std::size_t c = 0; c < cols; ++c)
            s += "<td>" + cell_text(t.column_labels[c], t.values[row * cols + c]) + "</td>";
        s += "</tr>\n";
    }
    return s + "</table></section>\n";
}

std::string figure(const std::string& svg, const std::string& caption) {
    return "<figure>" + svg + "<figcaption>" + svg::escape(caption) + "</figcaption></figure>\n";
}

std::string target_charts(const RegressionResults& r, std::size_t j,
                          const std::vector<std::size_t>& drawn) {
    const std::size_t k = r.width();
    const std::string& name = r.target_names[j];
    std::vector<double> x, truth, predicted, residual;
    for (const std::size_t i : drawn) {
        x.push_back(static_cast<double>(i));
        truth.push_back(r.truth[i * k + j]);
        predicted.push_back(r.predicted[i * k + j]);
        residual.push_back(truth.back() - predicted.back());
    }
    svg::ParityChart scatter;
    scatter.x_label = name + " (true)";
    scatter.y_label = name + " (predicted)";
    scatter.x = truth;
    scatter.y = predicted;
    std::string s = figure(svg::parity_chart(scatter),
                           "Predicted against true " + name +
                               ": a perfect model puts every point on the dashed line; points "
                               "above it are over-predictions.");
    const std::string residual_label = name + " residual (true - predicted)";
    if (r.time_ordered) {
        svg::LineChart forecast;
        forecast.y_label = name;
        forecast.x_label = r.key_name;
        forecast.x = x;
        forecast.x_names = r.keys;
        forecast.series = {{"true", truth, kTruthColour}, {"forecast", predicted, kForecastColour}};
        s += figure(svg::line_chart(forecast), "The " + r.set_name + " period: the forecast of " +
                                                   name + " against the truth, step by step.");
        svg::LineChart res;
        res.y_label = "residual";
        res.x_label = r.key_name;
        res.x = x;
        res.x_names = r.keys;
        res.series = {{residual_label, residual, kResidualColour}};
        s += figure(svg::line_chart(res),
                    "Residuals over time: a run of one sign or a trend means the model misses "
                    "something systematic (a level shift, a season).");
    } else {
        svg::HistogramChart hist;
        hist.x_label = residual_label;
        for (std::size_t i = 0; i < r.samples(); ++i)
            hist.values.push_back(r.truth[i * k + j] - r.predicted[i * k + j]);
        s += figure(svg::histogram_chart(hist),
                    "Residuals of all " + std::to_string(r.samples()) +
                        " samples: centred on zero (dashed) when the model is unbiased; a long "
                        "tail shows the samples it gets badly wrong.");
    }
    return s;
}

}  // namespace

std::string regression_sections(const RegressionResults& r) {
    check_regression_results(r);
    const std::vector<std::size_t> drawn = svg::decimate(r.samples(), kRegressionChartPoints);
    std::string charts;
    const std::size_t shown = std::min(r.width(), kRegressionChartTargets);
    for (std::size_t j = 0; j < shown; ++j) charts += target_charts(r, j, drawn);
    std::string notes;
    if (shown < r.width())
        notes += "<p>Charts for the first " + std::to_string(shown) + " of " +
                 std::to_string(r.width()) +
                 " targets; the table and test_predictions.csv hold them all.</p>\n";
    if (drawn.size() < r.samples())
        notes += "<p>The point and line charts draw " + std::to_string(drawn.size()) + " of the " +
                 std::to_string(r.samples()) + " samples, evenly spaced; the table" +
                 (r.time_ordered ? std::string(" uses") : std::string(" and the histograms use")) +
                 " all of them.</p>\n";
    return table_section(r) + "<section id=\"predictions\"><h2>Predictions (" +
           svg::escape(r.set_name) + " set)</h2><div class=\"charts\">\n" + charts + "</div>\n" +
           notes + "</section>\n";
}

}  // namespace plexus::core
