// The end of a regression (or autoencoder) run: the report set's predictions in the target's
// units go to test_predictions.csv (which report.html draws), the regression report to the
// terminal and metrics.json.
#include <algorithm>

#include "plexus/core/reporting/regression.hpp"
#include "run_steps.hpp"

namespace plexus::core {

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
}

}  // namespace plexus::core
