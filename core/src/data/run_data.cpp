#include "plexus/core/data/run_data.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <tuple>

#include "plexus/core/data/readers/sources.hpp"
#include "plexus/core/data/splits.hpp"
#include "plexus/error.hpp"
#include "plexus/support/index_ranges.hpp"
#include "plexus/support/text.hpp"

namespace fs = std::filesystem;

namespace plexus::core {

namespace {

/// A source names a scheme ("csv:iris.csv"); a fraction does not ("0.1 stratified").
bool is_source(const std::string& value) {
    return value.find(':') != std::string::npos;
}

Dataset load(const DataSettings& settings, const Setting& s, const Dataset* reference) {
    Dataset d = load_dataset(s.value, settings.base_dir, s.where, reference);
    if (reference && d.features() != reference->features())
        throw DataError(at(s) + d.source + ": samples have " + std::to_string(d.features()) +
                        " values " + d.sample_shape.str() + ", the training samples " +
                        std::to_string(reference->features()) + " " +
                        reference->sample_shape.str());
    if (d.count == 0) throw DataError(at(s) + d.source + ": no samples");
    return d;
}

/// data.classes: keeps the samples of the chosen classes, renumbered from 0 in their order
/// (classes = 5-9 makes class 5 class 0), with their names. Applied to every loaded set after
/// the test and validation sets were matched against the whole training set's classes.
void select_classes(Dataset& d, const support::IndexRanges& chosen, std::size_t all_classes,
                    const Setting& s) {
    if (d.has_targets() || d.labels.size() != d.count)
        throw ConfigError(at(s) + "data.classes: " + d.source +
                          " has float targets, not classes to choose from");
    std::vector<std::uint32_t> to(all_classes, UINT32_MAX);
    std::vector<std::string> names;
    std::uint32_t next = 0;
    for (std::size_t c = 0; c < all_classes; ++c)
        if (chosen.contains(c)) {
            to[c] = next++;
            if (c < d.class_names.size()) names.push_back(d.class_names[c]);
        }
    const std::size_t width = d.features();
    std::size_t kept = 0;
    for (std::size_t i = 0; i < d.count; ++i) {
        const std::uint32_t label = d.labels[i];
        if (label >= to.size() || to[label] == UINT32_MAX) continue;
        d.labels[kept] = to[label];
        if (!d.u8.empty())
            std::copy_n(d.u8.begin() + i * width, width, d.u8.begin() + kept * width);
        if (!d.f32.empty())
            std::copy_n(d.f32.begin() + i * width, width, d.f32.begin() + kept * width);
        if (!d.keys.empty()) d.keys[kept] = std::move(d.keys[i]);
        ++kept;
    }
    if (kept == 0)
        throw ConfigError(at(s) + "data.classes: " + d.source + " has no sample of classes " +
                          support::quote_for_message(s.value, 60));
    d.count = kept;
    d.labels.resize(kept);
    if (!d.u8.empty()) d.u8.resize(kept * width);
    if (!d.f32.empty()) d.f32.resize(kept * width);
    if (!d.keys.empty()) d.keys.resize(kept);
    d.classes = next;
    if (!d.class_names.empty()) d.class_names = names;
}

std::vector<std::uint32_t> shuffled_indices(std::size_t n, std::uint64_t seed) {
    std::vector<std::uint32_t> idx(n);
    std::iota(idx.begin(), idx.end(), 0u);
    std::mt19937_64 rng(seed);
    std::shuffle(idx.begin(), idx.end(), rng);
    return idx;
}

/// Fractions from data.split, data.validation and data.test (the ones that are not files).
SplitSpec split_spec(const DataSettings& settings, bool test_file, bool validation_file) {
    SplitSpec spec;
    const auto& validation = settings.validation;
    const auto& test = settings.test;
    if (const auto& preset = settings.split) {
        spec = parse_split(preset->value, preset->where);
        if (validation && !validation_file && spec.validation > 0)
            throw ConfigError(at(*validation) + "validation is set twice: by split = " +
                              preset->value + " and here; keep one");
        if (test && spec.test > 0)
            throw ConfigError(
                at(*test) + "the test set is set twice: by split = " + preset->value +
                " and here; keep one (a test file with split = TRAIN:VALIDATION:0 is fine)");
        if (validation_file && spec.validation > 0)
            throw ConfigError(at(*validation) + "validation is a file, but split = " +
                              preset->value + " also carves one from train; keep one");
    }
    if (validation && !validation_file) {
        bool chronological = false;
        spec.validation =
            parse_fraction(validation->value, validation->where, spec.stratified, &chronological);
        spec.chronological |= chronological;
    }
    if (test && !test_file) {
        bool stratified = false, chronological = false;
        spec.test = parse_fraction(test->value, test->where, stratified, &chronological);
        spec.stratified |= stratified;
        spec.chronological |= chronological;
    }
    if (spec.validation + spec.test >= 0.95)
        throw ConfigError(settings.file.string() +
                          ": validation and test fractions leave almost nothing to train on");
    return spec;
}

/// The split for the loaded training data: float targets have no classes to stratify, a
/// series is always split chronologically (70:15:15 when no split key is given), and on
/// chronological data `validation = F` is the last F of the training part.
SplitSpec fit_spec_to_data(SplitSpec spec, const DataSettings& settings, const Dataset& train) {
    const Setting* key = settings.split        ? &*settings.split
                         : settings.validation ? &*settings.validation
                         : settings.test       ? &*settings.test
                                               : nullptr;
    const std::string where = key ? at(*key) : settings.file.string() + ": ";
    if (spec.stratified && train.has_targets())
        throw ConfigError(where + "'stratified' keeps class proportions, but " + train.source +
                          " has float targets (no classes)" +
                          (train.chronological ? " and a series splits chronologically" : "") +
                          "; drop 'stratified'");
    if (spec.stratified && spec.chronological)
        throw ConfigError(where +
                          "'stratified' and 'chronological' cannot be combined (a chronological "
                          "split takes the most recent samples, whatever their class)");
    if (!train.chronological) return spec;
    if (!key) return SplitSpec{0.15, 0.15, false, true};
    spec.chronological = true;
    return spec;
}

/// Indices of a whole test or validation file: time order for chronological data (a
/// forecast is read in order), else a seeded shuffle.
std::vector<std::uint32_t> file_order(const Dataset& data, bool chronological, std::uint64_t seed) {
    if (!chronological && !data.chronological) return shuffled_indices(data.count, seed);
    std::vector<std::uint32_t> idx(data.count);
    std::iota(idx.begin(), idx.end(), 0u);
    return idx;
}

/// A chronological split whose part was asked for but holds no whole window is an error, not
/// a silently empty split.
void check_chronological_parts(const Splits& parts, const SplitSpec& spec, const Dataset& data) {
    const std::size_t reads = data.spans.empty() ? 1 : data.spans[0][1] - data.spans[0][0] + 1;
    for (const auto& [name, share, part] :
         {std::tuple{"validation", spec.validation, &parts.validation},
          std::tuple{"test", spec.test, &parts.test}})
        if (share > 0 && part->empty())
            throw ConfigError(data.source + ": the chronological " + name + " part (" +
                              std::to_string(static_cast<int>(share * 100 + 0.5)) +
                              " % of the rows) holds no whole window (each reads " +
                              std::to_string(reads) +
                              " rows); give it a larger share or use a smaller window");
}

}  // namespace

std::unique_ptr<RunData> load_run_data(const DataSettings& settings) {
    const std::uint64_t data_seed = settings.seed;
    const std::size_t train_limit = settings.train_limit, test_limit = settings.test_limit;
    if (!settings.train)
        throw ConfigError(
            settings.file.string() +
            ": no training data: add 'train = idx:PATH' (or csv:, npy:, dir:) to [data]");
    const auto& test_setting = settings.test;
    const auto& val_setting = settings.validation;
    const bool test_file = test_setting && is_source(test_setting->value);
    const bool val_file = val_setting && is_source(val_setting->value);
    SplitSpec spec = split_spec(settings, test_file, val_file);

    auto d = std::make_unique<RunData>();
    d->train_data = load(settings, *settings.train, nullptr);
    if (test_file)
        d->test_data = std::make_unique<Dataset>(load(settings, *test_setting, &d->train_data));
    if (val_file)
        d->validation_data =
            std::make_unique<Dataset>(load(settings, *val_setting, &d->train_data));

    if (const auto& classes = settings.classes) {
        const std::string who = at(*classes) + "data.classes";
        const auto chosen = support::parse_index_ranges(classes->value, who);
        const std::size_t all = std::max(d->train_data.classes, d->train_data.class_names.size());
        if (chosen.max() >= all)
            throw ConfigError(who + ": class " + std::to_string(chosen.max()) +
                              " does not exist (" + d->train_data.source + " has " +
                              std::to_string(all) + " classes, 0-" +
                              std::to_string(all ? all - 1 : 0) + ")");
        for (Dataset* data : {&d->train_data, d->test_data.get(), d->validation_data.get()})
            if (data) select_classes(*data, chosen, all, *classes);
    }
    const bool validation_setting = settings.validation && !val_file;
    spec = fit_spec_to_data(spec, settings, d->train_data);
    if (spec.chronological && validation_setting) spec.validation *= 1.0 - spec.test;
    for (const Dataset* data : {&d->train_data, d->test_data.get(), d->validation_data.get()})
        if (data)
            d->warnings.insert(d->warnings.end(), data->warnings.begin(), data->warnings.end());

    // train_limit takes a seeded random subset (chronological: the first samples in time
    // order); make_splits shuffles (seeded) again itself.
    std::vector<std::uint32_t> pool;
    if (train_limit > 0 && train_limit < d->train_data.count && !spec.chronological) {
        pool = shuffled_indices(d->train_data.count, data_seed + 1);
        pool.resize(train_limit);
    } else {
        pool.resize(std::min(d->train_data.count, train_limit ? train_limit : d->train_data.count));
        std::iota(pool.begin(), pool.end(), 0u);
    }
    Splits parts = spec.chronological ? make_chronological_splits(pool, d->train_data.spans, spec)
                                      : make_splits(pool, d->train_data.labels, spec, data_seed);
    if (spec.chronological) {
        check_chronological_parts(parts, spec, d->train_data);
        d->split_json["chronological"] = {{"dropped_at_cuts", parts.dropped}};
    }
    d->train = {&d->train_data, std::move(parts.train)};
    d->validation = {&d->train_data, std::move(parts.validation)};
    d->test = {&d->train_data, std::move(parts.test)};
    if (d->train.size() == 0)
        throw ConfigError("no training samples left after the validation and test splits");
    if (d->validation_data)
        d->validation = {d->validation_data.get(),
                         file_order(*d->validation_data, spec.chronological, data_seed + 3)};
    if (d->test_data) {
        d->test = {d->test_data.get(),
                   file_order(*d->test_data, spec.chronological, data_seed + 2)};
        if (test_limit > 0 && test_limit < d->test.size()) d->test.indices.resize(test_limit);
    }

    std::size_t classes = d->train_data.classes;
    for (const Dataset* other : {d->test_data.get(), d->validation_data.get()})
        if (other) classes = std::max(classes, other->classes);
    d->classes = classes;
    d->train_counts = class_counts(d->train.indices, d->train_data.labels, classes);
    const auto& names = d->train_data.class_names;
    for (const auto& [name, subset] : {std::pair<const char*, const Subset*>{"train", &d->train},
                                       {"validation", &d->validation},
                                       {"test", &d->test}}) {
        if (subset->size() == 0) continue;
        const auto c = class_counts(subset->indices, subset->data->labels, classes);
        d->split_json[name] = {
            {"samples", subset->size()}, {"class_counts", c}, {"source", subset->data->source}};
        for (std::size_t k = 0; k < classes; ++k)
            if (c[k] == 0)
                d->warnings.push_back(
                    std::string("warning: class ") +
                    (k < names.size() ? support::quote_for_message(names[k]) + " " : "") + "(" +
                    std::to_string(k) + ") has no samples in the " + name + " split");
    }
    return d;
}

}  // namespace plexus::core
