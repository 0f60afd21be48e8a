#include "plexus/core/experiment/settings.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "plexus/core/experiment/keys.hpp"
#include "plexus/error.hpp"

namespace plexus::core {

std::string at(const Setting& s) {
    return s.where.empty() ? "" : s.where + ": ";
}

namespace {

class Reader {
public:
    explicit Reader(const Experiment& exp) : exp_(exp) {}

    // The setting, else the table's default (itself a key's value when it names one).
    std::optional<Setting> value(std::string_view key) const {
        const ExperimentKey& spec = entry(key);
        if (auto s = exp_.get(std::string(key))) return s;
        if (spec.default_value.empty()) return std::nullopt;
        if (find_experiment_key(spec.default_value)) return value(spec.default_value);
        return Setting{std::string(spec.default_value), std::string(key)};
    }

    Setting component(std::string_view key) const { return *value(key); }

    std::vector<Setting> list(std::string_view key) const {
        auto all = exp_.get_all(std::string(key));
        const ExperimentKey& spec = entry(key);
        if (all.empty() && !spec.default_value.empty())
            all.push_back({std::string(spec.default_value), std::string(key)});
        return all;
    }

    // An integer or number key; a key whose table entry allows a word returns `word_value`
    // for it.
    double number(std::string_view key, double word_value = 0) const {
        const ExperimentKey& spec = entry(key);
        const Setting s = *value(key);
        if (!spec.word.empty() && s.value == spec.word) return word_value;
        double v = 0;
        const auto [p, ec] = std::from_chars(s.value.data(), s.value.data() + s.value.size(), v);
        const bool ok =
            ec == std::errc() && p == s.value.data() + s.value.size() && std::isfinite(v);
        const bool integer = spec.type == KeyType::integer;
        if (!ok || (integer && v != std::floor(v)) || v < spec.min || v > spec.max) {
            std::string message =
                fmt::format("{}{} must be {} in [{:.15g}, {:.15g}], found '{}'", at(s), key,
                            integer ? "an integer" : "a number", spec.min, spec.max, s.value);
            if (!spec.word.empty())
                message += fmt::format(" (or '{}' {})", spec.word, spec.word_doc);
            throw ConfigError(message);
        }
        return v;
    }

    // An integer key read exactly: seeds go up to 4e18, beyond a double's 2^53, so digits are
    // parsed as an integer; anything else ("3.0", "1e3", a word, a bad value) goes through
    // number(), which accepts whole numbers written otherwise and words, and reports the rest.
    std::uint64_t integer(std::string_view key, double word_value = 0) const {
        const ExperimentKey& spec = entry(key);
        const Setting s = *value(key);
        std::uint64_t v = 0;
        const auto [p, ec] = std::from_chars(s.value.data(), s.value.data() + s.value.size(), v);
        if (spec.type == KeyType::integer && ec == std::errc() &&
            p == s.value.data() + s.value.size() && static_cast<double>(v) >= spec.min &&
            static_cast<double>(v) <= spec.max)
            return v;
        return static_cast<std::uint64_t>(number(key, word_value));
    }

    bool boolean(std::string_view key) const {
        const Setting s = *value(key);
        if (s.value != "true" && s.value != "false")
            throw ConfigError(
                fmt::format("{}{} must be true or false, found '{}'", at(s), key, s.value));
        return s.value == "true";
    }

private:
    static const ExperimentKey& entry(std::string_view key) {
        const ExperimentKey* spec = find_experiment_key(key);
        if (!spec)
            throw Error(fmt::format("internal: '{}' is not in the experiment key table", key));
        return *spec;
    }

    const Experiment& exp_;
};

}  // namespace

ExperimentSettings read_settings(const Experiment& exp) {
    const Reader r(exp);
    ExperimentSettings s;
    s.name = exp.name();
    s.file = exp.path();

    DataSettings& d = s.data;
    d.file = exp.path();
    d.base_dir = exp.path().empty() ? std::filesystem::path() : exp.path().parent_path();
    // A study writes trial experiments into its own folders; base_dir keeps their data paths
    // pointing where the base experiment's did.
    if (const auto base = exp.get("experiment.base_dir")) d.base_dir /= base->value;
    d.train = r.value("data.train");
    d.test = r.value("data.test");
    d.validation = r.value("data.validation");
    d.split = r.value("data.split");
    d.transforms = r.list("data.transform");
    d.target = r.value("data.target");
    d.target_transform = r.component("data.target_transform");
    d.prefetch = r.boolean("data.prefetch");
    d.seed = r.integer("data.seed");
    d.train_limit = static_cast<std::size_t>(r.integer("data.train_limit"));
    d.test_limit = static_cast<std::size_t>(r.integer("data.test_limit"));
    d.classes = r.value("data.classes");
    d.divide = static_cast<float>(r.number("data.divide"));

    s.model.layers = r.list("model.layer");
    s.model.loss = r.component("model.loss");
    s.model.init_from = r.value("model.init_from");
    s.model.freeze = r.value("model.freeze");

    TrainSettings& t = s.train;
    t.device = r.component("train.device");
    t.optimizer = r.component("train.optimizer");
    t.layer_optimizers = r.list("train.layer_optimizer");
    t.batch_size = static_cast<std::size_t>(r.integer("train.batch_size", 0));
    t.epochs = static_cast<std::size_t>(r.integer("train.epochs"));
    t.metrics = r.list("train.metric");
    t.callbacks = r.list("train.callback");
    t.seed = r.integer("train.seed");
    t.verbose = static_cast<int>(r.integer("train.verbose"));
    t.overlap_allreduce = r.boolean("train.overlap_allreduce");
    t.bucket_bytes = static_cast<std::size_t>(r.integer("train.bucket_bytes"));
    return s;
}

}  // namespace plexus::core
