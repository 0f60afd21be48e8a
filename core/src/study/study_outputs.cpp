// The end of a study: the leaderboard, best.ini and the one evaluation on the test set.
#include "plexus/core/study/study_outputs.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "plexus/core/data/run_data.hpp"
#include "plexus/core/experiment/settings.hpp"
#include "plexus/core/modelfile/saved_model.hpp"
#include "plexus/error.hpp"
#include "plexus/support/files.hpp"

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

fs::path trial_dir(const StudySpec& spec, std::uint64_t number) {
    return spec.dir / "trials" / fmt::format("{:04}", number);
}

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
    std::vector<std::shared_ptr<Metric>> metrics;
    for (const auto& m : s.train.metrics)
        metrics.push_back(registry.create_as<Metric>(parse_component_spec(m.value, m.where)));
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
    std::string line = fmt::format("test ({} samples):", j.value("samples", 0));
    for (const auto& [name, value] : j["metrics"].items())
        line += fmt::format(" {} {:.4f}", name, value.get<double>());
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

StudyEnd write_study_outputs(const StudyContext& study, std::ostream& out) {
    const StudySpec& spec = study.spec;
    const StudyTrials st = load_study_trials(study);
    out << "\n" << leaderboard_text(spec, st);
    support::write_file_atomic(spec.dir / "leaderboard.csv", leaderboard_csv(spec, st));
    const auto best = best_trial(st.trials, spec.maximize);
    if (!best) {
        out << "no trial completed: no best.ini\n";
        return StudyEnd::done;
    }
    const TrialRecord& b = st.trials[*best];
    out << fmt::format("best: trial {} {} {:.4f}  {}\n", b.number, spec.objective, *b.value,
                       params_text(spec.space, b.params));
    if (spec.command.empty()) {
        support::write_file_atomic(
            spec.dir / "best.ini",
            relocate_experiment(substitute(study.base_text, spec.space, b.params),
                                fs::absolute(spec.experiment).parent_path(), spec.dir));
        out << "best experiment: " << (spec.dir / "best.ini").string() << "\n";
        try {
            nlohmann::json j = evaluate_on_test(trial_dir(spec, b.number), study.registry);
            if (j.is_null()) {
                out << "the experiment has no test set: nothing evaluated on it\n";
            } else {
                j["trial"] = b.number;
                study.storage.set_attribute("test_metrics", j.dump());
                out << metrics_line(j) << " (trial " << b.number << ", evaluated once)\n";
            }
        } catch (const Error& e) {
            out << "test evaluation of trial " << b.number << " failed: " << e.what() << "\n";
            return StudyEnd::test_failed;
        }
    }
    return StudyEnd::done;
}

void print_study(const StudyContext& study, std::ostream& out) {
    const StudyTrials st = load_study_trials(study);
    out << leaderboard_text(study.spec, st);
    if (const auto stored = study.storage.attribute("test_metrics")) {
        const auto j = nlohmann::json::parse(*stored, nullptr, false);
        if (!j.is_discarded() && j.contains("metrics") && j["metrics"].is_object())
            out << metrics_line(j) << " (trial " << j.value("trial", 0) << ")\n";
    }
}

}  // namespace plexus::core
