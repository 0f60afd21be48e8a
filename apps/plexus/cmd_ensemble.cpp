// plexus ensemble MODEL... --data SPEC: every member and their combination evaluated on the same
// data, in one table; --out saves the combination as a model predict and evaluate accept.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "commands.hpp"
#include "plexus/core/run/run_record.hpp"
#include "plexus/core/study/study_outputs.hpp"
#include "plexus/error.hpp"
#include "plexus/support/text.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace plexus::app {
namespace {

/// A trial's model: its folder's model.safetensors, else one in a run folder inside it.
fs::path trial_model(const fs::path& dir) {
    std::error_code ec;
    if (fs::exists(dir / "model.safetensors", ec)) return dir;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (fs::exists(it->path() / "model.safetensors", ec)) return it->path();
    throw DataError(dir.string() + ": this trial folder holds no model.safetensors");
}

/// The run folders of a study's best `top` complete trials, best first.
std::vector<std::string> best_trials(const fs::path& study_dir, std::size_t top) {
    const core::StudySpec spec = core::load_study(study_file_of(study_dir));
    const auto storage = core::open_storage(spec.storage, spec.dir / "study.db");
    storage->open(spec.name, spec.definition(), spec.file.string());
    const std::vector<core::TrialRecord> trials = storage->trials();
    const auto done = core::complete_trials_best_first(trials, spec.maximize);
    if (done.size() < top)
        throw ConfigError(study_dir.string() + ": --top " + std::to_string(top) +
                          " but the study " + "has " + std::to_string(done.size()) +
                          " complete trials");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < top; ++i)
        out.push_back(trial_model(spec.trial_dir(trials[done[i]].number)).string());
    return out;
}

/// A member's validation accuracy at the epoch whose weights its model file holds (metrics.json's
/// best_epoch, read in history.csv), else at the last epoch; nullopt when its folder has none.
std::optional<double> member_val_accuracy(const fs::path& model_file) {
    core::RunRecord run;
    try {
        run = core::read_run(model_file.parent_path());
    } catch (const std::exception&) {
        return std::nullopt;
    }
    const auto& j = run.metrics;
    std::optional<double> value;
    if (j.contains("final_epoch") && j["final_epoch"].is_object() &&
        j["final_epoch"].contains("val_accuracy") && j["final_epoch"]["val_accuracy"].is_number())
        value = j["final_epoch"]["val_accuracy"].get<double>();
    const auto& h = run.history;
    const auto col = std::find(h.columns.begin(), h.columns.end(), "val_accuracy");
    if (j.contains("best_epoch") && j["best_epoch"].is_number_unsigned() &&
        col != h.columns.end() && !h.columns.empty() && h.columns.front() == "epoch") {
        const double best = static_cast<double>(j["best_epoch"].get<std::size_t>());
        const std::size_t c = static_cast<std::size_t>(col - h.columns.begin());
        for (const auto& row : h.rows)
            if (row.size() > c && row.front() == best) value = row[c];
    }
    if (value && !(std::isfinite(*value) && *value >= 0.0 && *value <= 1.0)) return std::nullopt;
    return value;
}

/// --method weighted without --weights: each member's validation accuracy (at the epoch its
/// model holds) from its run folder, when every member has one; else equal weights.
std::vector<double> validation_weights(const core::Ensemble& e, std::ostream& note) {
    std::vector<double> w;
    for (const auto& m : e.members) {
        const auto v = e.float_targets() ? std::nullopt : member_val_accuracy(m->file);
        if (!v) {
            note << "weights: equal (not every member's run folder records a val_accuracy)\n";
            return {};
        }
        w.push_back(*v);
    }
    note << "weights: each member's val_accuracy at its best epoch, from its run folder\n";
    return w;
}

}  // namespace

int cmd_ensemble(const std::vector<std::string>& args) {
    po::options_description desc(
        "usage: plexus ensemble MODEL... --data SPEC [--method average|vote|weighted]\n"
        "                       [--weights W...] [--out DIR]\n"
        "       plexus ensemble STUDY_DIR --top K --data SPEC [...]\n\n"
        "Evaluates every member (run folders or model files trained for the same inputs and\n"
        "classes or targets) and their ensemble on the same labelled data: one table. average\n"
        "takes the mean of the probabilities (regression: of the predictions), vote the\n"
        "members' majority class (a tie goes to the lowest class id), weighted the weighted\n"
        "mean (--weights, else each member's best-epoch val_accuracy from its run, else equal).\n"
        "--out DIR saves the ensemble (DIR/ensemble.json and copies of the members) for\n"
        "plexus predict and plexus evaluate; DIR must be new, empty or an ensemble's folder.\n"
        "\noptions");
    desc.add_options()("help,h", "show this help")("data", po::value<std::string>(),
                                                   "labelled data to evaluate on")(
        "method", po::value<std::string>()->default_value("average"), "average, vote or weighted")(
        "weights", po::value<std::vector<double>>()->multitoken(), "one weight per member")(
        "top", po::value<std::size_t>(), "STUDY_DIR: its best K complete trials")(
        "metric", po::value<std::vector<std::string>>()->composing(),
        "a metric (repeatable; default accuracy, or mae rmse r2)")(
        "out", po::value<std::string>(), "folder to save the ensemble in");
    add_model_options(desc);
    add_plugin_options(desc);
    po::options_description all;
    all.add(desc).add_options()("models", po::value<std::vector<std::string>>());
    po::positional_options_description pos;
    pos.add("models", -1);
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
    if (vm.count("help")) {
        std::cout << desc << "\n";
        return 0;
    }
    if (!vm.count("models")) throw po::error("missing the models (plexus ensemble A B --data S)");
    std::vector<std::string> names = vm["models"].as<std::vector<std::string>>();
    if (vm.count("top")) {
        const std::size_t top = vm["top"].as<std::size_t>();
        if (names.size() != 1 || top < 1 || top > core::kMaxEnsembleMembers)
            throw po::error("--top K takes one study folder and K from 1 to " +
                            std::to_string(core::kMaxEnsembleMembers));
        names = best_trials(names.front(), top);
    }
    if (names.size() > core::kMaxEnsembleMembers)
        throw po::error("at most " + std::to_string(core::kMaxEnsembleMembers) + " members");

    if (vm.count("out")) core::check_ensemble_folder(vm["out"].as<std::string>());
    core::Registry registry(registry_options(vm));
    const std::size_t batch = batch_size_arg(vm);
    std::vector<std::unique_ptr<core::SavedModel>> members;
    for (const auto& n : names)
        members.push_back(core::load_model(n, registry, vm["device"].as<std::string>(), batch));
    const std::string method = vm["method"].as<std::string>();
    std::vector<double> weights;
    if (vm.count("weights")) weights = vm["weights"].as<std::vector<double>>();
    auto ensemble = core::make_ensemble(std::move(members), names, method, weights);
    if (method == "weighted" && weights.empty()) {
        weights = validation_weights(*ensemble, std::cout);
        if (!weights.empty())
            ensemble = core::make_ensemble(std::move(ensemble->members), names, method, weights);
    }

    std::vector<std::uint32_t> ids;
    const core::Dataset data = load_data_for(*ensemble, vm, ids, true);
    if (data.unlabeled)
        throw DataError(data.source +
                        ": has no labels; plexus ensemble evaluates its members "
                        "and needs them (csv label=NAME, npy labels=PATH, class subfolders)");
    const bool values = ensemble->float_targets();
    const std::vector<std::string> specs = vm.count("metric")
                                               ? vm["metric"].as<std::vector<std::string>>()
                                           : values ? std::vector<std::string>{"mae", "rmse", "r2"}
                                                    : std::vector<std::string>{"accuracy"};
    const auto evaluate = [&](const auto& run) {
        std::vector<std::shared_ptr<Metric>> metrics;
        for (const auto& s : specs) {
            metrics.push_back(registry.create_as<Metric>(s, "--metric"));
            if (!metrics.back()->accepts(values ? TargetKind::values : TargetKind::classes))
                throw po::error("--metric " + s + " does not work on the members' " +
                                (values ? "float targets" : "class ids"));
        }
        run(metrics);
        std::vector<std::pair<std::string, double>> out;
        for (const auto& m : metrics)
            for (const auto& [name, value] : m->result()) out.emplace_back(name, value);
        return out;
    };
    // Each member runs once: its outputs score its own row and are combined for the last.
    std::vector<std::pair<std::string, std::vector<std::pair<std::string, double>>>> rows;
    std::vector<std::vector<float>> outputs(ensemble->members.size());
    for (std::size_t i = 0; i < ensemble->members.size(); ++i)
        rows.emplace_back(names[i], evaluate([&](const auto& metrics) {
                              ensemble->members[i]->evaluate(data, ids, metrics, &outputs[i]);
                          }));
    rows.emplace_back("ensemble (" + method + ")", evaluate([&](const auto& metrics) {
                          ensemble->evaluate_outputs(data, ids, outputs, metrics, nullptr);
                      }));

    std::size_t width = 6;
    for (const auto& r : rows) width = std::max(width, std::min<std::size_t>(r.first.size(), 60));
    std::cout << "evaluated on " << data.source << " (" << data.count << " samples)\n"
              << fmt::format("{:<{}}", "model", width);
    for (const auto& [name, value] : rows.front().second)
        std::cout << fmt::format("  {:>10}", name);
    std::cout << fmt::format("  {:>8}\n", "weight");
    for (std::size_t i = 0; i < rows.size(); ++i) {
        std::cout << fmt::format("{:<{}}", support::printable(rows[i].first, 60), width);
        for (const auto& [name, value] : rows[i].second)
            std::cout << fmt::format("  {:>10.4f}", value);
        std::cout << (i < ensemble->weights.size() ? fmt::format("  {:>8.4f}", ensemble->weights[i])
                                                   : std::string())
                  << "\n";
    }
    if (vm.count("out")) {
        const fs::path file = core::save_ensemble(*ensemble, vm["out"].as<std::string>());
        std::cout << "ensemble saved to " << file.string()
                  << " (plexus predict and plexus evaluate take it)\n";
    }
    return 0;
}

}  // namespace plexus::app
