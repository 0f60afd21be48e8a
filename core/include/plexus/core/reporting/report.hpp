// The run report: one self-contained HTML file (inline SVG and CSS, no scripts, no external
// resources) with learning curves, the confusion matrix and per-class metrics (a regression
// run: the regression report and its prediction charts instead), the diagnosis and the
// experiment. Also the scikit-learn-style classification report it shows.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "plexus/core/data/host_tensor.hpp"
#include "plexus/core/reporting/regression.hpp"
#include "plexus/core/training/history.hpp"
#include "plexus/metric.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

struct ReportData {
    std::string title;            // usually the run folder's name
    std::string experiment_text;  // the resolved experiment (INI text)
    History history;              // columns "epoch", "loss", "val_loss", "lr", ...
    std::size_t best_epoch = 0;   // 1-based epoch number; 0: none
    std::string best_key;         // what chose the best epoch, e.g. "val_loss"
    std::string main_metric;      // e.g. "accuracy": plotted with its "val_" twin
    std::vector<std::string> class_names;
    std::vector<std::vector<double>> confusion;  // rows true, columns predicted; empty: none
    /// Rows classes, columns e.g. precision, recall, f1, support; empty: computed from the
    /// confusion matrix with classification_report().
    MetricTable per_class;
    std::vector<std::pair<std::string, double>> test_metrics;
    std::string diagnosis_html_or_text;  // plain text (escaped), one finding per line
    std::string stop_reason;
    /// The first convolution's kernel [filters, channels, kh, kw] (name "<i>.kernel"), drawn
    /// as one small image per filter; empty values: no convolution, no section.
    HostTensor first_conv_kernel;
    /// A regression run's predictions: the report shows the regression report, predicted
    /// against true values and the residuals instead of the confusion matrix and the per-class
    /// table (which are then ignored). requires: passes check_regression_results.
    std::optional<RegressionResults> regression;
};

/// The whole report as HTML text. Every piece of user text (title, class names, experiment,
/// diagnosis) is escaped. History columns that are absent are simply not plotted.
std::string render_report(const ReportData& data);

/// The stylesheet of report.html (plain CSS, no external resources), which the other Plexus
/// pages (study.html) share so that they look alike.
const char* report_style();

/// render_report() written atomically to `file`; throws plexus::Error when it cannot be.
void write_report(const std::filesystem::path& file, const ReportData& data);

/// scikit-learn's classification_report over a confusion matrix (rows true, columns
/// predicted): one row per class, then "macro avg" and "weighted avg"; columns precision,
/// recall, f1, support. A ratio with a zero denominator is 0 (zero_division=0). Row labels
/// are the class names (class ids as text where names are missing).
MetricTable classification_report(const std::vector<std::vector<double>>& confusion,
                                  const std::vector<std::string>& class_names);

/// Trace over total of the confusion matrix; 0 when it is empty.
double confusion_accuracy(const std::vector<std::vector<double>>& confusion);

/// classification_report() as aligned plain text for the terminal, with an accuracy line
/// between the classes and the averages, laid out like scikit-learn's (`digits` decimals).
std::string classification_report_text(const std::vector<std::vector<double>>& confusion,
                                       const std::vector<std::string>& class_names, int digits = 2);

}  // namespace plexus::core

#pragma GCC visibility pop
