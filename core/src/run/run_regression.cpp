// The end of a regression (or autoencoder) run: the report set's predictions in the target's
// units go to test_predictions.csv (which report.html draws), the regression report to the
// terminal and metrics.json.
#include <fmt/format.h>

#include <algorithm>

#include "plexus/core/reporting/regression.hpp"
#include "run_steps.hpp"

namespace plexus::core {
namespace {

/// A forecast is only worth its error next to the naive ones on the same windows: the last
/// value, and the last value plus the mean change per window seen in training (a drift).
/// Series data only (Dataset::last_value); nothing otherwise.
nlohmann::json naive_forecasts(const RunData& run_data, const Subset& ordered,
                               const RegressionResults& r, std::ostream& out) {
    const Dataset& data = *ordered.data;
    const Dataset& train = run_data.train_data;
    const std::size_t k = r.width();
    if (data.last_value.empty() || train.last_value.empty() || k == 0) return {};
    std::vector<double> drift(k, 0.0);
    for (const std::uint32_t id : run_data.train.indices)
        for (std::size_t c = 0; c < k; ++c) {
            const std::size_t at = std::size_t{id} * k + c;
            const double base = train.target_base.empty() ? 0.0 : train.target_base[at];
            drift[c] += train.targets[at] + base - train.last_value[at];
        }
    for (double& d : drift) d /= double(std::max<std::size_t>(1, run_data.train.size()));
    nlohmann::json j;
    out << "naive forecasts on the same " << r.samples() << " windows:";
    for (const bool with_drift : {false, true}) {
        RegressionResults naive = r;
        for (std::size_t i = 0; i < ordered.size(); ++i)
            for (std::size_t c = 0; c < k; ++c)
                naive.predicted[i * k + c] =
                    data.last_value[std::size_t{ordered.indices[i]} * k + c] +
                    (with_drift ? drift[c] : 0.0);
        const MetricTable t = regression_report(naive);
        const std::size_t row = t.row_labels.size() - 1;  // "all" with several targets
        nlohmann::json m;
        for (std::size_t c = 0; c < t.column_labels.size(); ++c)
            m[t.column_labels[c]] = t.values[row * t.column_labels.size() + c];
        const char* name = with_drift ? "last_value_plus_mean_change" : "last_value";
        j[name] = m;
        out << fmt::format("{} {} mae {:.4g}, rmse {:.4g}", with_drift ? ";" : "",
                           with_drift ? "last value + mean training change" : "last value",
                           m.value("mae", 0.0), m.value("rmse", 0.0));
    }
    out << "\n";
    return j;
}

}  // namespace

void regression_outputs(const FinishedTraining& run, const Subset& report_set,
                        const char* set_name, RunResult& result, nlohmann::json& metrics,
                        std::ostream& out) {
    if (run.targets.source == TargetSource::input) {  // the test loss is the reconstruction error
        metrics["task"] = "autoencoder";
        return;
    }
    const Dataset& data = *report_set.data;
    RegressionResults r;
    r.target_names = data.target_names;
    if (!data.key_name.empty()) r.key_name = data.key_name;
    r.time_ordered = data.chronological;
    r.set_name = set_name;
    // Series samples are reported in time order, whatever order the split visits them in.
    Subset ordered = report_set;
    if (data.chronological) std::sort(ordered.indices.begin(), ordered.indices.end());
    std::vector<float> truth, predicted;
    run.trainer.predict_values(ordered, truth, predicted);
    r.truth.assign(truth.begin(), truth.end());
    r.predicted.assign(predicted.begin(), predicted.end());
    for (const std::uint32_t id : ordered.indices)
        r.keys.push_back(id < data.keys.size() ? data.keys[id] : std::to_string(id));
    write_predictions_csv(result.run_dir / "test_predictions.csv", r);
    metrics.update(regression_json(r));
    out << "\n" << regression_report_text(r) << "\n";
    if (auto naive = naive_forecasts(run.data, ordered, r, out); !naive.empty())
        metrics["naive_forecasts"] = naive;
}

}  // namespace plexus::core
