// The end of a study: the leaderboard, best.ini and the one evaluation on the test set.
#include "plexus/core/study/study_outputs.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "plexus/core/data/run_data.hpp"
#include "plexus/core/experiment/settings.hpp"
#include "plexus/core/modelfile/saved_model.hpp"
#include "plexus/core/training/metric_names.hpp"
#include "plexus/core/study/study_report.hpp"
#include "plexus/error.hpp"
#include "plexus/support/files.hpp"

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

/// The best trial's saved model on its experiment's test set; null when it has none.
nlohmann::json evaluate_on_test(const fs::path& dir, const Registry& registry) {
    const Experiment exp = Experiment::load(dir / "experiment.ini");
    const ExperimentSettings s = read_settings(exp);
    if (!s.data.test && !s.data.split) return nullptr;
    const std::unique_ptr<RunData> data = load_run_data(s.data);
    const Subset& test = data->test;
    if (test.size() == 0) return nullptr;
    // The model (and its device) first: metrics hold device buffers and must go before it.
    const auto model = load_model(dir, registry, s.train.device.value);
    std::vector<ComponentSpec> specs;
    for (const auto& m : s.train.metrics) specs.push_back(parse_component_spec(m.value, m.where));
    const std::vector<std::shared_ptr<Metric>> metrics = create_named_metrics(registry, specs);
    model->evaluate(*test.data, test.indices, metrics, nullptr);
    nlohmann::json j;
    j["samples"] = test.size();
    j["source"] = test.data->source;
    j["metrics"] = nlohmann::json::object();
    for (const auto& m : metrics)
        for (const auto& [name, value] : m->result()) j["metrics"][name] = value;
    return j;
}

std::string metrics_line(const nlohmann::json& j) {
    const auto samples = j.contains("samples") && j["samples"].is_number_unsigned()
                             ? j["samples"].get<std::uint64_t>()
                             : 0;
    std::string line = fmt::format("test ({} samples):", samples);
    for (const auto& [name, value] : j["metrics"].items())
        if (value.is_number()) line += fmt::format(" {} {:.4f}", name, value.get<double>());
    return line;
}

}  // namespace

StudyTrials load_study_trials(const StudyContext& study) {
    StudyTrials st;
    st.trials = study.storage.trials();
    for (const auto& t : st.trials)
        st.max_epochs.push_back(trial_max_epochs(study.spec, study.base_text, t.params));
    return st;
}

namespace {

/// best.ini, and the best trial's model once on the test set (stored, and into `test`).
StudyEnd finish_best(const StudyContext& study, const TrialRecord& best,
                     std::vector<std::pair<std::string, double>>& test, std::ostream& out) {
    const StudySpec& spec = study.spec;
    support::write_file_atomic(
        spec.dir / "best.ini",
        relocate_experiment(substitute(study.base_text, spec.space, best.params),
                            fs::absolute(spec.experiment).parent_path(), spec.dir));
    out << "best experiment: " << (spec.dir / "best.ini").string() << "\n";
    try {
        nlohmann::json j = evaluate_on_test(spec.trial_dir(best.number), study.registry);
        if (j.is_null()) {
            out << "the experiment has no test set: nothing evaluated on it\n";
            return StudyEnd::done;
        }
        j["trial"] = best.number;
        study.storage.set_attribute("test_metrics", j.dump());
        for (const auto& [name, value] : j["metrics"].items()) test.emplace_back(name, value);
        out << metrics_line(j) << " (trial " << best.number << ", evaluated once)\n";
        return StudyEnd::done;
    } catch (const Error& e) {
        out << "test evaluation of trial " << best.number << " failed: " << e.what() << "\n";
        return StudyEnd::test_failed;
    }
}

}  // namespace

StudyEnd write_study_outputs(const StudyContext& study, std::ostream& out) {
    const StudySpec& spec = study.spec;
    const StudyTrials st = load_study_trials(study);
    out << "\n" << leaderboard_text(spec, st);
    support::write_file_atomic(spec.dir / "leaderboard.csv", leaderboard_csv(spec, st));
    StudyEnd end = StudyEnd::done;
    std::vector<std::pair<std::string, double>> test;
    if (const auto best = best_trial(st.trials, spec.maximize)) {
        const TrialRecord& b = st.trials[*best];
        out << fmt::format("best: trial {} {} {:.4f}  {}\n", b.number, spec.objective, *b.value,
                           params_text(spec.space, b.params));
        if (spec.command.empty()) end = finish_best(study, b, test, out);
    } else {
        out << "no trial completed: no best values\n";
    }
    write_study_report(spec, st.trials, test, spec.dir / "study.html");
    out << "report: " << (spec.dir / "study.html").string() << "\n";
    return end;
}

void print_study(const StudyContext& study, std::ostream& out) {
    const StudyTrials st = load_study_trials(study);
    out << leaderboard_text(study.spec, st);
    if (const auto stored = study.storage.attribute("test_metrics")) {
        const auto j = nlohmann::json::parse(*stored, nullptr, false);
        if (!j.is_discarded() && j.contains("metrics") && j["metrics"].is_object())
            out << metrics_line(j) << " (best trial)\n";
    }
}

}  // namespace plexus::core
