// A regression run's results: the predictions on one split in the target's own units, the
// file that keeps them (test_predictions.csv in the run folder), and the regression report
// computed from them (scikit-learn's mean_absolute_error, mean_squared_error, r2_score and
// mean_absolute_percentage_error, per target and averaged over targets).
#pragma once

#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plexus/metric.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

struct RegressionResults {
    std::vector<std::string> target_names;  // k columns
    std::string key_name = "sample";        // what a key is: "date", "sample", ...
    std::vector<std::string> keys;          // one per sample (a timestamp or an index)
    std::vector<double> truth, predicted;   // samples × k, row after row, target units
    bool time_ordered = false;              // series: the samples are consecutive time steps
    std::string set_name = "test";          // the split the samples come from

    std::size_t samples() const { return keys.size(); }
    std::size_t width() const { return target_names.size(); }
};

/// Throws plexus::Error naming what is inconsistent unless: at least one target, target names
/// non-empty, truth and predicted both samples() × width() values.
void check_regression_results(const RegressionResults& results);

/// Writes `file` atomically as CSV (RFC 4180 quoting where needed): a header KEY_NAME, then
/// for each target NAME (truth) and NAME_predicted; one row per sample with the key and the
/// numbers in the shortest text that reads back to the same double. requires: the results
/// pass check_regression_results (else plexus::Error, nothing written).
void write_predictions_csv(const std::filesystem::path& file, const RegressionResults& results);

/// Reads a file written by write_predictions_csv(). time_ordered and set_name are not in the
/// file: they come back as false and "test" (metrics.json carries them, see
/// regression_json). Every value is treated as hostile: throws DataError "FILE:LINE: what"
/// for a missing or oversized file, a header not of that shape, a row with the wrong number
/// of cells, a truth value that is not a finite number or a prediction that is not a number
/// (a diverged model's "nan" or "inf" predictions are kept), or no rows.
RegressionResults read_predictions_csv(const std::filesystem::path& file);

/// The regression report: one row per target, plus "all" (the uniform average over targets
/// of each column, scikit-learn's multioutput="uniform_average") when there are several;
/// columns mae, mse, rmse (the square root of the row's mse; "all" averages the targets'
/// rmse), r2 (1 - SS_res / SS_tot; for a constant truth 1 when the predictions are exact,
/// else 0, as scikit-learn 1.2; NaN with fewer than two samples), mape (a fraction:
/// |truth - predicted| / max(|truth|, DBL_EPSILON), averaged) and samples. requires: the
/// results pass check_regression_results.
MetricTable regression_report(const RegressionResults& results);

/// regression_report() as aligned plain text for the terminal, with `digits` decimals, under
/// a line naming the set and its sample count. With more than 20 targets (an autoencoder's
/// pixels) the first 20 rows are listed, then a line counting the others, then "all".
std::string regression_report_text(const RegressionResults& results, int digits = 4);

/// What metrics.json says about a regression run: {"task": "regression", "targets": [names],
/// "regression_set": set_name, "time_ordered": bool, "regression_report":
/// table_json(regression_report(results))}; merge it into the metrics object.
nlohmann::json regression_json(const RegressionResults& results);

}  // namespace plexus::core

#pragma GCC visibility pop
