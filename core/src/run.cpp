#include "plexus/core/run.hpp"

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
#include "plexus/core/idx.hpp"
#include "plexus/core/splits.hpp"
#include "plexus/core/trainer.hpp"
#include "plexus/plexus.hpp"

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

std::string at(const Setting& s) { return s.where.empty() ? "" : s.where + ": "; }

double number(const Experiment& exp, const std::string& key, double fallback, double min,
              double max, bool integer) {
    const auto s = exp.get(key);
    if (!s) return fallback;
    double v = 0;
    auto [p, ec] = std::from_chars(s->value.data(), s->value.data() + s->value.size(), v);
    const bool ok = ec == std::errc() && p == s->value.data() + s->value.size() && std::isfinite(v);
    if (!ok || (integer && v != std::floor(v)) || v < min || v > max) {
        char range[96];
        std::snprintf(range, sizeof range, "%s in [%.15g, %.15g]", integer ? "an integer" : "a number",
                      min, max);
        throw ConfigError(at(*s) + key + " must be " + range + ", found '" + s->value + "'");
    }
    return v;
}

Dataset load_source(const Experiment& exp, const Setting& s) {
    const auto colon = s.value.find(':');
    const std::string scheme = colon == std::string::npos ? "" : s.value.substr(0, colon);
    if (scheme != "idx")
        throw ConfigError(at(s) + "unsupported data source '" + s.value +
                          "' (supported: idx:PATH_PREFIX, e.g. idx:/usr/share/datasets/"
                          "fashion-mnist/train)");
    fs::path path = s.value.substr(colon + 1);
    if (path.is_relative() && !exp.path().empty()) path = exp.path().parent_path() / path;
    return load_idx_dataset(path);
}

std::vector<std::uint32_t> shuffled_indices(std::size_t n, std::uint64_t seed) {
    std::vector<std::uint32_t> idx(n);
    std::iota(idx.begin(), idx.end(), 0u);
    std::mt19937_64 rng(seed);
    std::shuffle(idx.begin(), idx.end(), rng);
    return idx;
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
    topt.divide = static_cast<float>(number(exp, "data.divide", 255, 1e-30, 1e30, false));
    const double train_limit = number(exp, "data.train_limit", 0, 0, 1e12, true);
    const double test_limit = number(exp, "data.test_limit", 0, 0, 1e12, true);
    const bool verbose = number(exp, "train.verbose", 1, 0, 2, true) > 0;
    const auto train_source = exp.get("data.train");
    if (!train_source)
        throw ConfigError(exp.path().string() + ": no training data: add 'train = idx:PATH' to [data]");

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

    // 2. Data and splits: a seeded shuffle before every split, never "the last rows".
    SplitSpec split_spec;
    if (const auto v = exp.get("data.validation"))
        split_spec.validation = parse_fraction(v->value, v->where, split_spec.stratified);
    const auto test_setting = exp.get("data.test");
    bool test_from_file = false;
    if (test_setting) {
        test_from_file = test_setting->value.find(':') != std::string::npos;
        if (!test_from_file) {
            bool stratified_test = false;
            split_spec.test = parse_fraction(test_setting->value, test_setting->where, stratified_test);
            split_spec.stratified |= stratified_test;
        }
    }
    if (split_spec.validation + split_spec.test >= 0.95)
        throw ConfigError(exp.path().string() + ": validation and test fractions leave almost nothing to train on");

    const Dataset train_data = load_source(exp, *train_source);
    std::optional<Dataset> test_data;
    if (test_from_file) {
        test_data = load_source(exp, *test_setting);
        if (test_data->features() != train_data.features())
            throw DataError(at(*test_setting) + "test samples have " + std::to_string(test_data->features()) +
                            " features, training samples " + std::to_string(train_data.features()));
    }
    // train_limit takes a seeded random subset; make_splits shuffles (seeded) again itself.
    std::vector<std::uint32_t> pool;
    if (train_limit > 0 && train_limit < train_data.count) {
        pool = shuffled_indices(train_data.count, data_seed + 1);
        pool.resize(std::size_t(train_limit));
    } else {
        pool.resize(train_data.count);
        std::iota(pool.begin(), pool.end(), 0u);
    }
    Splits parts = make_splits(pool, train_data.labels, split_spec, data_seed);
    Subset val{&train_data, std::move(parts.validation)};
    Subset train{&train_data, std::move(parts.train)};
    if (train.size() == 0) throw ConfigError("no training samples left after the validation split");
    Subset test{&train_data, std::move(parts.test)};
    if (test_data) {
        test = {&*test_data, shuffled_indices(test_data->count, data_seed + 2)};
        if (test_limit > 0 && test_limit < test.indices.size()) test.indices.resize(std::size_t(test_limit));
    }
    const std::size_t classes = std::max(train_data.classes, test_data ? test_data->classes : 0);
    const std::vector<std::size_t> counts = class_counts(train.indices, train_data.labels, classes);
    nlohmann::json split_json;
    std::vector<std::string> warnings;
    for (const auto& [name, subset] : {std::pair<const char*, const Subset*>{"train", &train},
                                       {"validation", &val}, {"test", &test}}) {
        if (subset->size() == 0) continue;
        const auto c = class_counts(subset->indices, subset->data->labels, classes);
        split_json[name] = {{"samples", subset->size()}, {"class_counts", c}};
        for (std::size_t k = 0; k < classes; ++k)
            if (c[k] == 0)
                warnings.push_back(std::string("warning: class ") +
                                   (k < train_data.class_names.size() ? "'" + train_data.class_names[k] + "' " : "") +
                                   "(" + std::to_string(k) + ") has no samples in the " + name + " split");
    }
    // Batch gradient descent is batch_size = full; a batch never exceeds the training set.
    if (full_batch || topt.batch_size > train.size()) topt.batch_size = train.size();
    std::vector<std::string> layer_specs;
    for (const auto& s : exp.get_all("model.layer")) layer_specs.push_back(s.value);
    topt.metadata = {{"format", "plexus"},
                     {"plexus_version", PLEXUS_VERSION_STRING},
                     {"experiment", exp.name()},
                     {"layers", nlohmann::json(layer_specs).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)},
                     {"input_shape", nlohmann::json(std::vector<std::size_t>{train_data.features()}).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)},
                     {"class_names", nlohmann::json(train_data.class_names).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)}};
    Trainer trainer(*device, model, *loss, *optimizer, metrics, callbacks, topt);
    try {
        trainer.build(train_data.features(), classes, counts);
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
        << " test samples; " << classes << " classes; " << train_data.features() << " features\n"
        << model.summary();
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
    metrics_json["split"] = split_json;
    if (!history.rows.empty()) {
        nlohmann::json last;
        for (std::size_t c = 1; c < history.columns.size(); ++c)
            last[history.columns[c]] = history.rows.back()[c];
        metrics_json["final_epoch"] = last;
    }
    if (test.size() && !history.rows.empty()) {
        result.test = trainer.evaluate(test);
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
    }
    write_file_atomic(result.run_dir / "metrics.json", metrics_json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    if (!history.rows.empty()) {
        char perf[128];
        std::snprintf(perf, sizeof perf, "%.0f training samples/s, %.2f s/epoch\n",
                      result.samples_per_second, result.seconds_per_epoch);
        out << perf;
    }
    out << "run saved to " << result.run_dir.string() << "\n";
    return result;
}

}  // namespace plexus::core
