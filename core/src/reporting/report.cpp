#include "plexus/core/reporting/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "filter_images.hpp"
#include "plexus/core/reporting/svg_chart.hpp"
#include "plexus/support/files.hpp"
#include "plexus/support/text.hpp"
#include "regression_html.hpp"

namespace plexus::core {

namespace {

using Matrix = std::vector<std::vector<double>>;

// Missing and non-finite entries of a ragged matrix count as 0.
double at(const Matrix& m, std::size_t i, std::size_t j) {
    const double v = i < m.size() && j < m[i].size() ? m[i][j] : 0.0;
    return std::isfinite(v) ? v : 0.0;
}

std::size_t classes_of(const Matrix& m) {
    std::size_t n = m.size();
    for (const auto& row : m) n = std::max(n, row.size());
    return n;
}

std::string class_name(const std::vector<std::string>& names, std::size_t i) {
    return i < names.size() ? names[i] : std::to_string(i);
}

std::string fixed(double v, int decimals) {
    if (!std::isfinite(v)) return "n/a";
    return fmt::format("{:.{}f}", v, decimals);
}

std::string support_text(double v) {
    if (!std::isfinite(v)) return "n/a";
    return v == std::floor(v) && std::abs(v) < 1e15 ? fixed(v, 0) : svg::format_number(v, 4);
}

std::size_t display_width(const std::string& s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string pad_left(const std::string& s, std::size_t width) {
    const std::size_t w = display_width(s);
    return w >= width ? s : std::string(width - w, ' ') + s;
}

}  // namespace

MetricTable classification_report(const Matrix& confusion,
                                  const std::vector<std::string>& class_names) {
    const std::size_t n = classes_of(confusion);
    MetricTable t;
    t.name = "classification_report";
    t.row_title = "class";
    t.column_title = "metric";
    t.column_labels = {"precision", "recall", "f1", "support"};
    std::vector<double> predicted(n, 0.0), actual(n, 0.0);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            actual[i] += at(confusion, i, j);
            predicted[j] += at(confusion, i, j);
        }
    double total = 0.0;
    std::vector<double> macro(3, 0.0), weighted(3, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
        const double tp = at(confusion, i, i);
        // F1 as 2TP / (2TP + FP + FN), which is 0 exactly when sklearn's zero_division=0 is.
        const double row[3] = {
            predicted[i] > 0 ? tp / predicted[i] : 0.0, actual[i] > 0 ? tp / actual[i] : 0.0,
            actual[i] + predicted[i] > 0 ? 2 * tp / (actual[i] + predicted[i]) : 0.0};
        t.row_labels.push_back(class_name(class_names, i));
        t.values.insert(t.values.end(), {row[0], row[1], row[2], actual[i]});
        for (int k = 0; k < 3; ++k) {
            macro[k] += row[k] / static_cast<double>(n);
            weighted[k] += row[k] * actual[i];
        }
        total += actual[i];
    }
    for (double& w : weighted) w = total > 0 ? w / total : 0.0;
    t.row_labels.push_back("macro avg");
    t.values.insert(t.values.end(), {macro[0], macro[1], macro[2], total});
    t.row_labels.push_back("weighted avg");
    t.values.insert(t.values.end(), {weighted[0], weighted[1], weighted[2], total});
    return t;
}

double confusion_accuracy(const Matrix& confusion) {
    const std::size_t n = classes_of(confusion);
    double right = 0.0, total = 0.0;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            total += at(confusion, i, j);
            if (i == j) right += at(confusion, i, j);
        }
    return total > 0 ? right / total : 0.0;
}

std::string classification_report_text(const Matrix& confusion,
                                       const std::vector<std::string>& class_names, int digits) {
    const MetricTable t = classification_report(confusion, class_names);
    const std::size_t rows = t.row_labels.size(), classes = rows - 2;
    // Class names come from data files: escaped and bounded before they reach a terminal.
    std::vector<std::string> labels;
    for (const std::string& label : t.row_labels) labels.push_back(support::printable(label, 60));
    std::size_t width = display_width("weighted avg");
    for (const std::string& label : labels) width = std::max(width, display_width(label));
    const auto line = [&](const std::string& label, const std::vector<std::string>& cells) {
        std::string s = pad_left(label, width) + " ";
        for (const std::string& c : cells) s += " " + pad_left(c, 9);
        return s + "\n";
    };
    const auto row = [&](std::size_t r) {
        const double* v = &t.values[r * 4];
        return line(labels[r], {fixed(v[0], digits), fixed(v[1], digits), fixed(v[2], digits),
                                support_text(v[3])});
    };
    std::string s = line("", {"precision", "recall", "f1-score", "support"}) + "\n";
    for (std::size_t r = 0; r < classes; ++r) s += row(r);
    s += "\n" + line("accuracy", {"", "", fixed(confusion_accuracy(confusion), digits),
                                  support_text(t.values[classes * 4 + 3])});
    s += row(classes) + row(classes + 1);
    return s;
}

namespace {

constexpr const char* kStyle = R"css(
body{margin:0;background:#fff;color:#1a1a1a;font:14px/1.45 system-ui,"DejaVu Sans",sans-serif}
main{max-width:1240px;margin:0 auto;padding:12px 24px 32px}
h1{font-size:22px;margin:8px 0 4px;overflow-wrap:anywhere}
h2{font-size:17px;margin:26px 0 10px;padding-bottom:4px;border-bottom:1px solid #ddd}
.meta{margin:2px 0;color:#444}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #d8dde3;border-radius:6px;padding:8px 14px;min-width:110px}
.card .name{font-size:12px;color:#555}.card .value{font-size:20px;font-weight:600}
.diagnosis li{margin:3px 0}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,460px),1fr));gap:16px 24px;align-items:start}
.charts figure{min-width:0}.charts svg{max-width:100%;height:auto}
figure{margin:0}figcaption{max-width:600px;font-size:12px;color:#555}
.tick,.legend,.label{font-size:12px;fill:#333}.axis-title{font-size:13px;fill:#222}
.note{font-size:13px;fill:#888}.best-label{font-size:12px;fill:#c0392b}
.plot{fill:#fff;stroke:#b8b8b8}.grid{stroke:#ececec}.axis{stroke:#888}
.line{stroke-width:2;stroke-linejoin:round}.swatch{stroke-width:2.5}
.best{stroke:#c0392b;stroke-width:1.5;stroke-dasharray:5 4}.best-dot{stroke-width:1.5}
.filters{display:flex;flex-wrap:wrap;gap:6px;max-width:720px}
.filter{border:1px solid #ccc}.cell{stroke:#fff;stroke-width:1}.frame{fill:none;stroke:#888}.scale{stroke:#888}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:4px 14px;text-align:right;border-bottom:1px solid #eee}
th:first-child,td:first-child{text-align:left}th{border-bottom:2px solid #ccc}
tr.summary td{background:#f7f9fb}tr.first-summary td{border-top:2px solid #ccc}
pre{padding:12px;overflow-x:auto;background:#f6f8fa;border:1px solid #e1e4e8;border-radius:6px;
font:12px/1.4 ui-monospace,"DejaVu Sans Mono",monospace}
)css";

constexpr const char* kTrainColour = "#1f77b4";
constexpr const char* kValidationColour = "#ff7f0e";
constexpr const char* kRateColour = "#7b4fa6";
constexpr std::size_t kMaxHeatmapClasses = 100;

std::ptrdiff_t column(const History& h, const std::string& name) {
    const auto it = std::find(h.columns.begin(), h.columns.end(), name);
    return it == h.columns.end() ? -1 : it - h.columns.begin();
}

std::vector<double> values(const History& h, std::ptrdiff_t col) {
    std::vector<double> v;
    for (const auto& row : h.rows)
        v.push_back(col >= 0 && static_cast<std::size_t>(col) < row.size() ? row[col] : NAN);
    return v;
}

// The metric to plot when none is named: the first column that is not bookkeeping.
std::string guess_metric(const History& h) {
    for (const std::string& c : h.columns)
        if (c != "epoch" && c != "loss" && c != "lr" && c != "learning_rate" && c != "seconds" &&
            c != "time" && c.rfind("val_", 0) != 0)
            return c;
    return "";
}

std::string chart_figure(const ReportData& d, const std::vector<double>& epochs,
                         const std::string& name, const std::string& label,
                         const std::string& caption) {
    svg::LineChart c;
    c.y_label = label;
    c.x = epochs;
    c.best_x = static_cast<double>(d.best_epoch);
    const std::ptrdiff_t train = column(d.history, name);
    const std::ptrdiff_t val = column(d.history, "val_" + name);
    if (train >= 0) c.series.push_back({"train " + label, values(d.history, train), kTrainColour});
    if (val >= 0)
        c.series.push_back({"validation " + label, values(d.history, val), kValidationColour});
    if (c.series.empty()) return "";
    return "<figure>" + svg::line_chart(c) + "<figcaption>" + svg::escape(caption) +
           "</figcaption></figure>\n";
}

std::string rate_figure(const ReportData& d, const std::vector<double>& epochs) {
    std::ptrdiff_t col = column(d.history, "lr");
    if (col < 0) col = column(d.history, "learning_rate");
    if (col < 0) return "";
    svg::LineChart c;
    c.y_label = "learning rate";
    c.x = epochs;
    c.best_x = static_cast<double>(d.best_epoch);
    c.allow_log = true;
    c.series.push_back({"learning rate", values(d.history, col), kRateColour});
    return "<figure>" + svg::line_chart(c) +
           "<figcaption>Learning rate used in each epoch (log scale when it spans more than a "
           "factor 10).</figcaption></figure>\n";
}

std::string header(const ReportData& d) {
    std::string s =
        "<header><h1>" + svg::escape(d.title.empty() ? "Plexus run" : d.title) + "</h1>\n";
    if (!d.history.rows.empty())
        s += "<p class=\"meta\">" + std::to_string(d.history.rows.size()) + " epoch" +
             (d.history.rows.size() == 1 ? "" : "s") + " trained.</p>\n";
    if (!d.stop_reason.empty())
        s += "<p class=\"meta stop\">Stopped: " + svg::escape(d.stop_reason) + "</p>\n";
    if (d.best_epoch > 0) {
        s += "<p class=\"meta\">Best epoch: " + std::to_string(d.best_epoch);
        const std::ptrdiff_t key = d.best_key.empty() ? -1 : column(d.history, d.best_key);
        const std::ptrdiff_t ep = column(d.history, "epoch");
        for (std::size_t r = 0; key >= 0 && r < d.history.rows.size(); ++r) {
            const auto& row = d.history.rows[r];
            const double e = ep >= 0 && static_cast<std::size_t>(ep) < row.size()
                                 ? row[ep]
                                 : static_cast<double>(r + 1);
            if (e == static_cast<double>(d.best_epoch) &&
                static_cast<std::size_t>(key) < row.size())
                s += " (" + svg::escape(d.best_key) + " = " + svg::format_number(row[key]) + ")";
        }
        s += "</p>\n";
    }
    return s + "</header>\n";
}

std::string test_section(const ReportData& d) {
    if (d.test_metrics.empty()) return "";
    std::string s = "<section id=\"test\"><h2>Test metrics</h2><div class=\"cards\">\n";
    for (const auto& [name, value] : d.test_metrics)
        s += "<div class=\"card\"><div class=\"name\">" + svg::escape(name) +
             "</div><div class=\"value\">" + svg::format_number(value) + "</div></div>\n";
    return s + "</div></section>\n";
}

std::string diagnosis_section(const ReportData& d) {
    std::string items;
    for (const std::string& raw : support::split(d.diagnosis_html_or_text, '\n')) {
        std::string line = support::trim(raw);
        if (line.rfind("- ", 0) == 0 || line.rfind("* ", 0) == 0)
            line = support::trim(line.substr(2));
        if (!line.empty()) items += "<li>" + svg::escape(line) + "</li>\n";
    }
    if (items.empty()) return "";
    return "<section id=\"diagnosis\"><h2>Diagnosis</h2><ul class=\"diagnosis\">\n" + items +
           "</ul></section>\n";
}

std::string confusion_section(const ReportData& d) {
    if (d.confusion.empty()) return "";
    const std::size_t n = classes_of(d.confusion);
    if (n > kMaxHeatmapClasses)  // the drawing would run to megabytes and be unreadable
        return "<section id=\"confusion\"><h2>Confusion matrix</h2><p>" + std::to_string(n) +
               " classes are too many to draw; metrics.json holds the matrix.</p></section>\n";
    return "<section id=\"confusion\"><h2>Confusion matrix</h2><figure>" +
           svg::confusion_heatmap(d.confusion, d.class_names) +
           "<figcaption>Rows: true class; columns: predicted class. " +
           (svg::heatmap_shows_counts(n) ? "Numbers are counts of test samples. "
                                         : "Too many classes to print counts: hover a cell. ") +
           "Colour is row-normalised: the share of each true class's samples in the cell, so "
           "the diagonal shows each class's recall.</figcaption></figure></section>\n";
}

std::string table_row(const std::string& label, const std::vector<std::string>& cells,
                      const char* cls = nullptr) {
    std::string s = cls ? std::string("<tr class=\"") + cls + "\">" : std::string("<tr>");
    s += "<td>" + svg::escape(label) + "</td>";
    for (const std::string& c : cells) s += "<td>" + c + "</td>";
    return s + "</tr>\n";
}

std::string per_class_section(const ReportData& d) {
    const bool given = !d.per_class.values.empty();
    if (!given && d.confusion.empty()) return "";
    const MetricTable t = given ? d.per_class : classification_report(d.confusion, d.class_names);
    const std::size_t cols = t.column_labels.size();
    std::string s = "<section id=\"per-class\"><h2>Per-class metrics</h2><table>\n<tr><th>" +
                    svg::escape(t.row_title.empty() ? "class" : t.row_title) + "</th>";
    for (const std::string& c : t.column_labels) s += "<th>" + svg::escape(c) + "</th>";
    s += "</tr>\n";
    // The accuracy line sits between the classes and the averages, as in scikit-learn.
    std::string accuracy;
    if (!d.confusion.empty()) {
        const std::size_t n = classes_of(d.confusion);
        double total = 0.0;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) total += at(d.confusion, i, j);
        std::vector<std::string> cells(cols);
        for (std::size_t c = 0; c < cols; ++c) {
            if (t.column_labels[c] == "f1" || t.column_labels[c] == "f1-score")
                cells[c] = fixed(confusion_accuracy(d.confusion), 3);
            if (t.column_labels[c] == "support") cells[c] = support_text(total);
        }
        accuracy = table_row("accuracy", cells, "summary first-summary");
    }
    bool ruled = false;  // the first summary row is set off by a rule
    for (std::size_t r = 0; r < t.row_labels.size() && cols > 0; ++r) {
        std::string label = t.row_labels[r];
        // Metrics label rows with class ids; show the names.
        if (!label.empty() && label.find_first_not_of("0123456789") == std::string::npos &&
            label.size() < 10 && std::stoul(label) < d.class_names.size())
            label = d.class_names[std::stoul(label)];
        std::vector<std::string> cells;
        for (std::size_t c = 0; c < cols; ++c) {
            const std::size_t k = r * cols + c;
            const double v = k < t.values.size() ? t.values[k] : NAN;
            cells.push_back(t.column_labels[c] == "support" ? support_text(v) : fixed(v, 3));
        }
        const bool summary = label == "macro avg" || label == "weighted avg";
        if (summary && !ruled && !accuracy.empty()) {
            s += accuracy;  // carries the rule
            accuracy.clear();
            ruled = true;
        }
        s += table_row(label, cells,
                       !summary ? nullptr
                       : ruled  ? "summary"
                                : "summary first-summary");
        ruled = ruled || summary;
    }
    s += accuracy;
    return s + "</table></section>\n";
}

std::string filters_section(const ReportData& d) {
    const HostTensor& k = d.first_conv_kernel;
    if (k.shape.rank() != 4) return "";
    // Screen pixels per weight: 3x3 kernels get 16 (48-pixel images), large ones at least 8.
    const int scale =
        static_cast<int>(std::max<std::size_t>(8, 48 / std::max(k.shape[2], k.shape[3])));
    const std::string figure = svg::filter_figure(k, scale);
    if (figure.empty()) return "";
    const std::size_t channels = k.shape[1];
    return "<section id=\"filters\"><h2>Filters of the first convolution</h2><figure>" + figure +
           "<figcaption>The " + std::to_string(k.shape[0]) + " learned " +
           std::to_string(k.shape[2]) + "&#215;" + std::to_string(k.shape[3]) + " kernels of " +
           svg::escape(k.name) + " (" +
           (channels == 1   ? std::string("one channel, gray")
            : channels == 3 ? std::string("three channels as red, green, blue")
                            : "the mean of its " + std::to_string(channels) + " channels, gray") +
           "), each stretched from its own minimum (black) to maximum (white). Trained filters "
           "look like edges and blobs; noise means little was learned.</figcaption></figure>"
           "</section>\n";
}

}  // namespace

std::string render_report(const ReportData& d) {
    std::vector<double> epochs;
    const std::ptrdiff_t ep = column(d.history, "epoch");
    for (std::size_t r = 0; r < d.history.rows.size(); ++r) {
        const auto& row = d.history.rows[r];
        const bool has = ep >= 0 && static_cast<std::size_t>(ep) < row.size();
        epochs.push_back(has ? row[ep] : static_cast<double>(r + 1));
    }
    const std::string metric = d.main_metric.empty() ? guess_metric(d.history) : d.main_metric;
    std::string charts = chart_figure(d, epochs, "loss", "loss",
                                      "Loss per epoch on the training and validation sets.");
    if (!metric.empty() && metric != "loss")
        charts += chart_figure(
            d, epochs, metric, metric,
            "Main metric (" + metric + ") per epoch on the training and validation sets.");
    charts += rate_figure(d, epochs);

    std::string s =
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
        "<title>" +
        svg::escape(d.title.empty() ? "Plexus run" : d.title) +
        " &#8212; Plexus report</title>\n<style>" + kStyle + "</style></head>\n<body><main>\n";
    s += header(d) + test_section(d) + diagnosis_section(d);
    if (!charts.empty())
        s += "<section id=\"curves\"><h2>Learning curves</h2><div class=\"charts\">\n" + charts +
             "</div></section>\n";
    s += d.regression ? regression_sections(*d.regression)
                      : confusion_section(d) + per_class_section(d);
    s += filters_section(d);
    if (!d.experiment_text.empty())
        s += "<section id=\"experiment\"><h2>Experiment</h2><pre>" +
             svg::escape(d.experiment_text) + "</pre></section>\n";
    return s + "</main></body></html>\n";
}

const char* report_style() {
    return kStyle;
}

void write_report(const std::filesystem::path& file, const ReportData& data) {
    support::write_file_atomic(file, render_report(data));
}

}  // namespace plexus::core
