#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "plexus/error.hpp"
#include "plexus/core/reporting/report.hpp"
#include "plexus/core/reporting/summaries.hpp"
#include "plexus/core/training/inference.hpp"
#include "plexus/core/training/metric_names.hpp"

namespace po = boost::program_options;

namespace plexus::app {

namespace {

/// --data, which must have labels (or float targets) to score against.
core::Dataset labelled_data(const core::Ensemble& model, const po::variables_map& vm,
                            std::vector<std::uint32_t>& ids) {
    core::Dataset data = load_data_for(model, vm, ids, true);
    if (data.unlabeled)
        throw DataError(data.source + ": has no labels; evaluate needs them (csv label=NAME, npy "
                        "labels=PATH, class subfolders; plexus predict runs without)");
    return data;
}

/// A regression model's (or autoencoder's) evaluation: the metrics in the target's units.
int evaluate_values(core::Ensemble& model, const std::vector<std::shared_ptr<Metric>>& metrics,
                    const po::variables_map& vm, core::Background& warm) {
    std::vector<std::uint32_t> ids;
    const core::Dataset data = labelled_data(model, vm, ids);
    const auto t0 = std::chrono::steady_clock::now();
    warm.join();
    model.evaluate(data, ids, metrics, nullptr);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    nlohmann::json j;
    j["model"] = model.file.string();
    j["data"] = data.source;
    j["samples"] = data.count;
    j["batch_size"] = model.batch;
    j["seconds"] = seconds;
    j["samples_per_second"] = seconds > 0 ? static_cast<double>(ids.size()) / seconds : 0.0;
    j["targets"] = model.card().target_names;
    for (const auto& m : metrics)
        for (const auto& [name, value] : m->result()) j["metrics"][name] = value;
    if (vm["json"].as<bool>()) {
        std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return 0;
    }
    std::cout << "evaluated " << model.file.string() << " on " << data.source << " ("
              << data.count << " samples)\n"
              << fmt::format("{:.3f} s, {:.0f} samples/s at batch {}\n", seconds,
                             j["samples_per_second"].get<double>(), model.batch);
    for (const auto& [name, value] : j["metrics"].items())
        std::cout << fmt::format("{} {:.6g}\n", name, value.get<double>());
    return 0;
}

}  // namespace

int cmd_evaluate(const std::vector<std::string>& args) {
    po::options_description desc(
        "usage: plexus evaluate RUN_DIR|MODEL --data SPEC [--metric SPEC]... [--json]\n\n"
        "Evaluates a trained model on a labelled data set, with the transforms fitted during\n"
        "training: the metrics, a classification report (per-class precision, recall, F1,\n"
        "support; macro and weighted averages; accuracy) and the labelled confusion "
        "matrix.\nA regression model reports its metrics in the target's units (default mae, "
        "rmse, r2).\n\noptions");
    desc.add_options()("help,h", "show this help")(
        "data", po::value<std::string>(),
        "data to evaluate, e.g. idx:/usr/share/datasets/fashion-mnist/t10k")(
        "metric", po::value<std::vector<std::string>>()->composing(),
        "a metric, e.g. 'f1 average=macro' (repeatable; default accuracy)")(
        "json", po::bool_switch(), "print JSON instead of text");
    add_model_options(desc);
    add_plugin_options(desc);
    po::variables_map vm;
    if (!parse_command(args, desc, "model", vm)) return 0;
    if (!vm.count("model"))
        throw po::error("missing the model (plexus evaluate RUN_DIR --data SPEC)");

    core::Registry registry(registry_options(vm));
    // The model (and its device) first: metrics hold device buffers and must go before it.
    auto model = load_model_arg(vm, registry);
    // The model's first pass runs while the data is read (SavedModel::warm_up); what is left of
    // it when the data is in is waited for inside the timed evaluation.
    core::Background warm([&model] { model->warm_up(); });
    const bool values = model->float_targets();
    std::vector<std::string> specs =
        vm.count("metric") ? vm["metric"].as<std::vector<std::string>>()
        : model->card().target == "input" ? std::vector<std::string>{"mse", "mae"}
        : values                        ? std::vector<std::string>{"mae", "rmse", "r2"}
                           : std::vector<std::string>{"accuracy"};
    std::vector<core::ComponentSpec> parsed;
    for (const auto& s : specs) parsed.push_back(core::parse_component_spec(s, "--metric " + s));
    std::vector<std::shared_ptr<Metric>> metrics = core::create_named_metrics(registry, parsed);
    for (std::size_t i = 0; i < metrics.size(); ++i)
        if (!metrics[i]->accepts(values ? TargetKind::values : TargetKind::classes))
            throw po::error("--metric " + specs[i] + " does not work on the model's " +
                            (values ? "float targets: use mae, mse, rmse, r2 or mape"
                                    : "class ids"));
    if (values) return evaluate_values(*model, metrics, vm, warm);
    auto confusion_metric = registry.create_as<Metric>("confusion_matrix", "evaluate");
    metrics.push_back(confusion_metric);

    std::vector<std::uint32_t> ids;
    const core::Dataset data = labelled_data(*model, vm, ids);
    // Inference throughput, as Keras prints ms/step: preparation, forward passes and metric
    // updates (and what is left of the warm-up), not loading the model or reading the data.
    const auto t0 = std::chrono::steady_clock::now();
    warm.join();
    model->evaluate(data, ids, metrics, nullptr);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::vector<std::vector<double>> confusion;
    for (const auto& t : confusion_metric->tables())
        if (t.name == "confusion_matrix") confusion = core::table_rows(t);
    nlohmann::json j;
    j["model"] = model->file.string();
    j["data"] = data.source;
    j["samples"] = data.count;
    j["batch_size"] = model->batch;
    j["seconds"] = seconds;
    j["samples_per_second"] = seconds > 0 ? static_cast<double>(ids.size()) / seconds : 0.0;
    for (std::size_t i = 0; i + 1 < metrics.size(); ++i)
        for (const auto& [name, value] : metrics[i]->result()) j["metrics"][name] = value;
    j["class_names"] = model->card().class_names;
    j["confusion_matrix"] = confusion;
    j["classification_report"] =
        core::table_json(core::classification_report(confusion, model->card().class_names));
    if (vm["json"].as<bool>()) {
        std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return 0;
    }
    std::cout << "evaluated " << model->file.string() << " on " << data.source << " (" << data.count
              << " samples)\n";
    std::cout << fmt::format("{:.3f} s, {:.0f} samples/s at batch {}\n", seconds,
                             j["samples_per_second"].get<double>(), model->batch);
    for (const auto& [name, value] : j["metrics"].items())
        std::cout << fmt::format("{} {:.4f}\n", name, value.get<double>());
    std::cout << "\n"
              << core::classification_report_text(confusion, model->card().class_names, 3) << "\n"
              << core::confusion_matrix_text(confusion, model->card().class_names);
    return 0;
}

}  // namespace plexus::app
