// The end of a run: the kept weights, the final evaluation, metrics.json, report.html and the
// summary on the terminal.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "plexus/core/reporting/diagnose.hpp"
#include "plexus/core/reporting/report.hpp"
#include "plexus/core/reporting/summaries.hpp"
#include "plexus/core/run/run_record.hpp"
#include "plexus/core/training/inference.hpp"
#include "plexus/plexus.hpp"
#include "plexus/support/files.hpp"
#include "run_steps.hpp"

namespace plexus::core {
namespace {

nlohmann::json training_json(const FinishedTraining& run, const RunResult& result) {
    nlohmann::json j;
    j["experiment"] = run.experiment.name();
    j["epochs"] = run.history.rows.size();
    j["train_samples_per_second"] = result.samples_per_second;
    j["seconds_per_epoch"] = result.seconds_per_epoch;
    j["stop_reason"] = result.stop_reason;
    j["ended"] = result.ended;
    j["split"] = run.data.split_json;
    if (!run.history.rows.empty()) {
        nlohmann::json last;
        for (std::size_t c = 1; c < run.history.columns.size(); ++c)
            last[run.history.columns[c]] = run.history.rows.back()[c];
        j["final_epoch"] = last;
    }
    j["class_names"] = run.data.train_data.class_names;
    j["best_epoch"] = run.trainer.best_epoch();
    j["best_key"] = run.trainer.best_key();
    return j;
}

/// Test metrics (printed and in metrics.json), and on the test set (else validation) the
/// confusion matrix behind the classification report.
void final_evaluation(const FinishedTraining& run, RunResult& result, nlohmann::json& metrics,
                      std::ostream& out) {
    if (run.history.rows.empty()) return;
    const bool classes = run.targets.source == TargetSource::labels;
    std::vector<std::shared_ptr<Metric>> report_metrics;
    if (classes && run.registry.find(Kind::metric, "confusion_matrix"))
        report_metrics.push_back(run.registry.create_as<Metric>("confusion_matrix", "report"));
    const Subset &test = run.data.test, &val = run.data.validation;
    const Subset* report_set = test.size() ? &test : (val.size() ? &val : nullptr);
    const char* report_set_name = test.size() ? "test" : "validation";
    if (test.size()) {
        result.test = run.trainer.evaluate(test, report_metrics);
        nlohmann::json tj;
        out << "test:";
        for (const auto& [name, value] : result.test.items()) {
            tj[name] = value;
            out << fmt::format(" {} {:.4f}", name, value);
        }
        out << "\n";
        metrics["test"] = tj;
    } else if (report_set && !report_metrics.empty()) {
        run.trainer.evaluate(*report_set, report_metrics);
    }
    if (!report_set) return;
    if (!classes) return regression_outputs(run, *report_set, report_set_name, result, metrics, out);
    std::vector<std::vector<double>> confusion;
    for (const auto& m : report_metrics)
        for (const auto& t : m->tables())
            if (t.name == "confusion_matrix") confusion = table_rows(t);
    if (confusion.empty()) return;
    const auto& names = run.data.train_data.class_names;
    metrics["confusion_matrix"] = confusion;
    metrics["confusion_set"] = report_set_name;
    metrics["classification_report"] = table_json(classification_report(confusion, names));
    out << "\nclassification report (" << report_set_name << " set, " << report_set->size()
        << " samples)\n"
        << classification_report_text(confusion, names, 3) << "\n"
        << confusion_matrix_text(confusion, names);
}

}  // namespace

void write_run_outputs(const FinishedTraining& run, RunResult& result, std::ostream& out) {
    Trainer& trainer = run.trainer;
    result.stop_reason = trainer.stop_reason();
    result.ended = trainer.ended();
    result.samples_per_second = trainer.samples_per_second();
    result.seconds_per_epoch = trainer.seconds_per_epoch();
    // A failure's message is the error the command ends with; it is not repeated here.
    if (!result.stop_reason.empty() && result.ended != "failed")
        out << "stopped: " << result.stop_reason << "\n";
    if (!trainer.restored_note().empty()) out << trainer.restored_note() << "\n";
    // Saved whatever stopped training, even in its first epoch: what was learned is kept. The
    // weights are taken from the device here; encoding, writing and syncing the file (11 ms of
    // model (a)'s) go on a helper thread while the test set is evaluated. The report reads the
    // file, and a failure to write it ends the command, so it is joined before either.
    Background saving([&trainer, file = (result.run_dir / "model.safetensors").string(),
                       tensors = trainer.model_tensors()] { trainer.write_model(file, tensors); });

    nlohmann::json metrics = training_json(run, result);
    if (result.ended != "failed") final_evaluation(run, result, metrics, out);
    saving.join();
    DiagnoseOptions diagnose_options;
    diagnose_options.regression = run.targets.source != TargetSource::labels;
    if (!diagnose_options.regression) diagnose_options.classes = run.data.classes;
    const Diagnosis diagnosis = diagnose(run.history, result.stop_reason, diagnose_options);
    metrics["diagnosis"] = diagnosis.to_json();
    // A run that diverged in its first epoch has no history but still a diagnosis.
    if (!run.history.rows.empty() || !diagnosis.findings.empty())
        out << "\n" << diagnosis.to_text();
    support::write_file_atomic(
        result.run_dir / "metrics.json",
        metrics.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    const RunRecord record{result.run_dir, run.experiment.resolved_text(), run.history, metrics};
    write_report(result.run_dir / "report.html", report_data(record, diagnosis_lines(diagnosis)));
    out << "\n";
    if (result.samples_per_second > 0)  // none when nothing was trained (or only resumed)
        out << fmt::format("{:.0f} training samples/s, {:.2f} s/epoch\n",
                           result.samples_per_second, result.seconds_per_epoch);
    out << "report: " << (result.run_dir / "report.html").string() << "\n"
        << "run saved to " << result.run_dir.string() << "\n";
}

void finish_failed_run(const FinishedTraining& run, RunResult& result, std::ostream& out) {
    std::error_code ec;
    if (!std::filesystem::is_directory(result.run_dir, ec)) return;
    try {
        write_run_outputs(run, result, out);
    } catch (...) {  // e.g. the device that failed training fails again
    }
}

}  // namespace plexus::core
