#include "plexus/core/run/run.hpp"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <algorithm>
#include <random>

#include "plexus/core/files.hpp"
#include "plexus/core/data/pipeline.hpp"
#include "plexus/core/modelfile/safetensors.hpp"
#include "plexus/core/training/trainer.hpp"
#include "plexus/core/reporting/diagnose.hpp"
#include "plexus/core/reporting/report.hpp"
#include "plexus/core/data/run_data.hpp"
#include "plexus/core/run/run_record.hpp"
#include "plexus/plexus.hpp"

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

std::vector<std::size_t> dims_of(const Shape& shape) {
    std::vector<std::size_t> d;
    for (std::size_t i = 0; i < shape.rank(); ++i) d.push_back(shape[i]);
    return d;
}

fs::path make_run_dir(const fs::path& root, const std::string& name) {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    std::error_code ec;
    fs::create_directories(root, ec);
    for (int i = 1; i < 1000; ++i) {
        fs::path dir = root / (name + "-" + stamp + (i > 1 ? "-" + std::to_string(i) : ""));
        if (fs::create_directory(dir, ec)) return dir;
        if (ec) throw Error(dir.string() + ": cannot create the run folder: " + ec.message());
    }
    throw Error(root.string() + ": cannot find a free run folder name");
}

}  // namespace

RunResult run_experiment(const Experiment& exp, const RunOptions& options, std::ostream& out) {
    // 1. Everything that can be wrong with the experiment is checked before any output.
    TrainOptions topt;
    const auto batch_setting = exp.get("train.batch_size");
    const bool full_batch = batch_setting && batch_setting->value == "full";
    if (!full_batch) {
        try {
            topt.batch_size = static_cast<std::size_t>(number(exp, "train.batch_size", 32, 1, 1 << 20, true));
        } catch (const ConfigError& e) {
            throw ConfigError(std::string(e.what()) + " (or 'full' for batch gradient descent)");
        }
    }
    topt.epochs = static_cast<std::size_t>(number(exp, "train.epochs", 1, 1, 1e6, true));
    const auto data_seed = static_cast<std::uint64_t>(number(exp, "data.seed", 42, 0, 4e18, true));
    topt.seed = static_cast<std::uint64_t>(number(exp, "train.seed", double(data_seed), 0, 4e18, true));
    const auto prefetch = exp.get("data.prefetch");
    if (prefetch && prefetch->value != "true" && prefetch->value != "false")
        throw ConfigError(at(*prefetch) + "data.prefetch must be true or false, found '" + prefetch->value + "'");
    topt.prefetch = !prefetch || prefetch->value == "true";
    const bool verbose = number(exp, "train.verbose", 1, 0, 2, true) > 0;
    const std::string run_name = exp.name();
    if (run_name.empty() || run_name == "." || run_name == ".." ||
        run_name.find_first_of("/\\\"") != std::string::npos ||
        !nlohmann::json::accept("\"" + run_name + "\""))
        throw ConfigError(exp.path().string() + ": experiment name '" + run_name +
                          "' cannot name a run folder (use letters, digits, '-', '_' or '.')");

    Registry registry(options.registry);
    auto spec = [&](const std::string& key, const std::string& fallback) {
        const auto s = exp.get(key);
        return s ? parse_component_spec(s->value, s->where) : parse_component_spec(fallback, key);
    };
    auto device = registry.create_as<Device>(spec("train.device", "cpu"));
    auto optimizer = registry.create_as<Optimizer>(spec("train.optimizer", "sgd"));
    auto loss = registry.create_as<Loss>(spec("model.loss", "softmax_cross_entropy"));
    Sequential model;
    for (const auto& s : exp.get_all("model.layer")) {
        const ComponentSpec cs = parse_component_spec(s.value, s.where);
        model.add(registry.create_as<Layer>(cs), cs.name);
    }
    if (model.size() == 0)
        throw ConfigError(exp.path().string() + ": [model] has no layers (add 'layer = dense units=10')");
    std::vector<std::shared_ptr<Metric>> metrics;
    auto metric_settings = exp.get_all("train.metric");
    if (metric_settings.empty()) metric_settings.push_back({"accuracy", "default"});
    for (const auto& s : metric_settings)
        metrics.push_back(registry.create_as<Metric>(parse_component_spec(s.value, s.where)));
    std::vector<std::shared_ptr<Callback>> callbacks;
    bool has_progress = false;
    for (const auto& s : exp.get_all("train.callback")) {
        const ComponentSpec cs = parse_component_spec(s.value, s.where);
        has_progress |= cs.name == "progress";
        callbacks.push_back(registry.create_as<Callback>(cs));
    }
    if (verbose && !has_progress)
        callbacks.push_back(registry.create_as<Callback>(parse_component_spec("progress", "default")));

    Pipeline pipeline;
    for (const auto& s : exp.get_all("data.transform")) {
        const ComponentSpec cs = parse_component_spec(s.value, s.where);
        pipeline.add(registry.create_as<Transform>(cs), s.value);
    }

    // 2. Data and splits: a seeded shuffle before every split, never "the last rows".
    const std::unique_ptr<RunData> data = load_run_data(exp);
    const Dataset& train_data = data->train_data;
    const Subset &train = data->train, &val = data->validation, &test = data->test;
    const std::size_t classes = data->classes;
    // uint8 sources arrive in [0, 1] (data.divide); float sources as they are.
    const float divide = static_cast<float>(number(exp, "data.divide", 255, 1e-30, 1e30, false));
    topt.divide = divide;
    // Batch gradient descent is batch_size = full; a batch never exceeds the training set.
    if (full_batch || topt.batch_size > train.size()) topt.batch_size = train.size();
    try {
        pipeline.build(train_data.sample_shape, topt.batch_size, divide, topt.seed);
    } catch (const Error& e) {
        throw ConfigError(exp.path().string() + ": " + e.what());
    }
    // Fitted on the training split only: validation and test statistics never leak in.
    std::vector<std::string> warnings = pipeline.fit(train_data, train.indices);
    warnings.insert(warnings.end(), data->warnings.begin(), data->warnings.end());
    topt.pipeline = &pipeline;

    auto json_text = [](const nlohmann::json& j) {
        return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    };
    std::vector<std::string> layer_specs;
    for (const auto& s : exp.get_all("model.layer")) layer_specs.push_back(s.value);
    char divide_text[32];
    std::snprintf(divide_text, sizeof divide_text, "%.9g", static_cast<double>(divide));
    const std::map<std::string, std::string> metadata = {{"format", "plexus"},
                     {"plexus_version", PLEXUS_VERSION_STRING},
                     {"experiment", exp.name()},
                     {"layers", json_text(layer_specs)},
                     {"loss", exp.get_or("model.loss", "softmax_cross_entropy")},
                     {"transforms", json_text(pipeline.specs())},
                     {"input_shape", json_text(dims_of(train_data.sample_shape))},
                     {"divide", divide_text},
                     {"classes", std::to_string(classes)},
                     {"class_names", json_text(train_data.class_names)}};
    topt.write_model = [metadata](const std::string& path, const std::vector<HostTensor>& tensors) {
        write_safetensors(path, tensors, metadata);
    };
    Trainer trainer(*device, model, *loss, *optimizer, metrics, callbacks, topt);
    try {
        trainer.build(pipeline.output_features(), classes, data->train_counts);
    } catch (const Error& e) {  // model and loss shapes: name the experiment they came from
        throw ConfigError(exp.path().string() + ": " + e.what());
    }

    // 3. Outputs. Every file is written atomically; history after every epoch.
    RunResult result;
    result.run_dir = make_run_dir(options.out_dir, exp.name());
    trainer.set_run_dir(result.run_dir.string());
    write_file_atomic(result.run_dir / "experiment.ini", exp.resolved_text());
    out << "plexus " PLEXUS_VERSION_STRING " | " << device->description() << "\n"
        << "data: " << train.size() << " train, " << val.size() << " validation, " << test.size()
        << " test samples; " << classes << " classes; samples " << train_data.sample_shape.str();
    if (pipeline.size()) out << " -> " << pipeline.output_shape().str() << " after " << pipeline.size() << " transform(s)";
    out << "\n" << model.summary();
    for (const auto& w : warnings) out << w << "\n";
    out << std::flush;

    std::size_t epochs_saved = 0;
    History history;
    try {
        history = trainer.fit(train, val, [&](const History& h) {
            write_file_atomic(result.run_dir / "history.csv", h.to_csv());
            epochs_saved = h.rows.size();
        });
    } catch (...) {
        // A failure before the first epoch ended (e.g. a callback monitoring a value that is
        // never logged) leaves nothing worth keeping; after that the saved epochs stay.
        if (epochs_saved == 0) {
            std::error_code ec;
            fs::remove_all(result.run_dir, ec);
        }
        throw;
    }
    result.stop_reason = trainer.stop_reason();
    result.samples_per_second = trainer.samples_per_second();
    result.seconds_per_epoch = trainer.seconds_per_epoch();
    if (!result.stop_reason.empty()) out << "stopped: " << result.stop_reason << "\n";
    if (!trainer.restored_note().empty()) out << trainer.restored_note() << "\n";
    if (!history.rows.empty()) trainer.weights().save((result.run_dir / "model.safetensors").string());

    nlohmann::json metrics_json;
    metrics_json["experiment"] = exp.name();
    metrics_json["epochs"] = history.rows.size();
    metrics_json["train_samples_per_second"] = result.samples_per_second;
    metrics_json["seconds_per_epoch"] = result.seconds_per_epoch;
    metrics_json["stop_reason"] = result.stop_reason;
    metrics_json["split"] = data->split_json;
    if (!history.rows.empty()) {
        nlohmann::json last;
        for (std::size_t c = 1; c < history.columns.size(); ++c)
            last[history.columns[c]] = history.rows.back()[c];
        metrics_json["final_epoch"] = last;
    }
    // The final evaluation: test metrics, and on the test set (else validation) the confusion
    // matrix behind the classification report.
    std::vector<std::shared_ptr<Metric>> report_metrics;
    if (registry.find(Kind::metric, "confusion_matrix"))
        report_metrics.push_back(registry.create_as<Metric>("confusion_matrix", "report"));
    const Subset* report_set = test.size() ? &test : (val.size() ? &val : nullptr);
    const char* report_set_name = test.size() ? "test" : "validation";
    if (test.size() && !history.rows.empty()) {
        result.test = trainer.evaluate(test, report_metrics);
        nlohmann::json tj;
        out << "test:";
        for (const auto& [name, value] : result.test.items()) {
            tj[name] = value;
            char buf[64];
            std::snprintf(buf, sizeof buf, " %s %.4f", name.c_str(), value);
            out << buf;
        }
        out << "\n";
        metrics_json["test"] = tj;
    } else if (report_set && !history.rows.empty() && !report_metrics.empty()) {
        trainer.evaluate(*report_set, report_metrics);
    }
    metrics_json["class_names"] = train_data.class_names;
    metrics_json["best_epoch"] = trainer.best_epoch();
    metrics_json["best_key"] = trainer.best_key();
    std::vector<std::vector<double>> confusion;
    if (report_set && !history.rows.empty())
        for (const auto& m : report_metrics)
            for (const auto& t : m->tables())
                if (t.name == "confusion_matrix") confusion = table_rows(t);
    if (!confusion.empty()) {
        metrics_json["confusion_matrix"] = confusion;
        metrics_json["confusion_set"] = report_set_name;
        const MetricTable report = classification_report(confusion, train_data.class_names);
        metrics_json["classification_report"] = table_json(report);
        out << "\nclassification report (" << report_set_name << " set, " << report_set->size() << " samples)\n"
            << classification_report_text(confusion, train_data.class_names, 3) << "\n"
            << confusion_matrix_text(confusion, train_data.class_names);
    }
    const Diagnosis diagnosis = diagnose(history, result.stop_reason);
    metrics_json["diagnosis"] = diagnosis.to_json();
    // A run that diverged in its first epoch has no history but still a diagnosis.
    if (!history.rows.empty() || !diagnosis.findings.empty()) out << "\n" << diagnosis.to_text();
    write_file_atomic(result.run_dir / "metrics.json", metrics_json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    if (!history.rows.empty()) {
        const RunRecord record{result.run_dir, exp.resolved_text(), history, metrics_json};
        write_report(result.run_dir / "report.html", report_data(record, diagnosis_lines(diagnosis)));
        char perf[128];
        std::snprintf(perf, sizeof perf, "%.0f training samples/s, %.2f s/epoch\n",
                      result.samples_per_second, result.seconds_per_epoch);
        out << "\n" << perf << "report: " << (result.run_dir / "report.html").string() << "\n";
    }
    out << "run saved to " << result.run_dir.string() << "\n";
    return result;
}

}  // namespace plexus::core
