#include "plexus/core/experiment/keys.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace plexus::core {
namespace {

using T = KeyType;

// Order here is the order of resolved_text() and of the help.
// clang-format off
constexpr ExperimentKey kKeys[] = {
    {"experiment.name", T::text, false, "", 0, 0, {}, {}, "name of the run (default: the file's stem)"},
    {"experiment.description", T::text, false, "", 0, 0, {}, {}, "free text"},
    {"experiment.base_dir", T::text, false, "", 0, 0, {}, {},
     "folder relative data paths start from, relative to this file (default: the file's folder)"},
    {"data.train", T::source, false, "", 0, 0, {}, {},
     "training set: idx:PREFIX, csv:PATH, npy:PATH, dir:PATH or series:PATH [options]"},
    {"data.test", T::source, false, "", 0, 0, {}, {},
     "test set: a source like train, or a fraction of train (0.2 [stratified|chronological])"},
    {"data.validation", T::source, false, "", 0, 0, {}, {},
     "validation set: a fraction of train (0.1 [stratified|chronological]) or a source"},
    {"data.split", T::text, false, "", 0, 0, {}, {},
     "train:test or train:validation:test preset, e.g. 70:15:15 [stratified|chronological]"},
    {"data.transform", T::component, true, "", 0, 0, {}, {},
     "one transform, fitted on the training split: name key=value ..."},
    {"data.target", T::text, false, "", 0, 0, {}, {},
     "input: each sample is its own target (autoencoders); else the source's label/target"},
    {"data.target_transform", T::text, false, "none", 0, 0, {}, {},
     "float targets: none, standardize or scale (to [0, 1]), fitted on the training split"},
    {"data.prefetch", T::boolean, false, "true", 0, 0, {}, {},
     "prepare the next batch on a background thread"},
    {"data.seed", T::integer, false, "42", 0, 4e18, {}, {}, "seed for shuffling and the validation split"},
    {"data.train_limit", T::integer, false, "0", 0, 1e12, {}, {},
     "use N training samples (a seeded random subset; chronological: the first N; 0: all)"},
    {"data.test_limit", T::integer, false, "0", 0, 1e12, {}, {},
     "use N test samples (a seeded random subset; chronological: the first N; 0: all)"},
    {"data.classes", T::text, false, "", 0, 0, {}, {},
     "keep only these classes, e.g. 5-9, renumbered from 0 in order (transfer learning)"},
    {"data.divide", T::number, false, "255", 1e-30, 1e30, {}, {}, "uint8 pixels are divided by this"},
    {"model.layer", T::component, true, "", 0, 0, {}, {}, "one layer: name key=value ..."},
    {"model.loss", T::component, false, "softmax_cross_entropy", 0, 0, {}, {}, "loss: name key=value ..."},
    {"model.init_from", T::text, false, "", 0, 0, {}, {},
     "start from a saved model's weights: RUN_DIR or MODEL.safetensors [layers=0-3] (default: "
     "the layers of the same kind and shapes up to the first that differs)"},
    {"model.freeze", T::text, false, "", 0, 0, {}, {},
     "layers not trained, e.g. 0-3,5 (frozen batchnorm uses its running statistics)"},
    {"train.device", T::component, false, "cpu", 0, 0, {}, {}, "device: name key=value ..."},
    {"train.optimizer", T::component, false, "sgd", 0, 0, {}, {}, "optimizer: name key=value ..."},
    {"train.layer_optimizer", T::text, true, "", 0, 0, {}, {},
     "an optimizer of their own for some layers: LAYERS: name key=value ..., e.g. "
     "0-1: sgd lr=0.05 momentum=0.9 (schedules scale it alike)"},
    {"train.batch_size", T::integer, false, "32", 1, 1 << 20, "full", "for batch gradient descent",
     "samples per step (capped at the training set)"},
    {"train.epochs", T::integer, false, "1", 1, 1e6, {}, {}, "passes over the training set"},
    {"train.metric", T::component, true, "accuracy", 0, 0, {}, {}, "one metric: name key=value ..."},
    {"train.callback", T::component, true, "", 0, 0, {}, {}, "one callback: name key=value ..."},
    {"train.seed", T::integer, false, "data.seed", 0, 4e18, {}, {}, "seed for initialization and dropout"},
    {"train.verbose", T::integer, false, "1", 0, 2, {}, {}, "progress output level (0 hides it)"},
    {"train.overlap_allreduce", T::boolean, false, "true", 0, 0, {}, {},
     "several ranks (mpirun): sum gradients in buckets while backward runs (false: after it)"},
    {"train.bucket_bytes", T::integer, false, "26214400", 4, 1 << 30, {}, {},
     "several ranks: bytes of gradients per overlapped allreduce after the first 1 MiB (25 MiB)"},
};
// clang-format on

constexpr std::string_view kSections[] = {"experiment", "data", "model", "train"};

std::string_view section_of(std::string_view key) {
    return key.substr(0, key.find('.'));
}
std::string_view name_of(std::string_view key) {
    return key.substr(key.find('.') + 1);
}

}  // namespace

std::span<const ExperimentKey> experiment_keys() {
    return kKeys;
}
std::span<const std::string_view> experiment_sections() {
    return kSections;
}

const ExperimentKey* find_experiment_key(std::string_view key) {
    for (const auto& k : kKeys)
        if (k.key == key) return &k;
    return nullptr;
}

std::string describe_key_value(const ExperimentKey& k) {
    // In the order of KeyType.
    static constexpr std::string_view kTypeNames[] = {"text",    "source", "component",
                                                      "integer", "number", "true or false"};
    std::string out(kTypeNames[static_cast<int>(k.type)]);
    if (k.type == T::integer || k.type == T::number)
        out += fmt::format(" in [{:.15g}, {:.15g}]", k.min, k.max);
    if (!k.word.empty()) out += fmt::format(" or '{}' ({})", k.word, k.word_doc);
    if (k.list) out += ", repeated";
    return out;
}

std::string experiment_keys_text() {
    std::size_t width = 0;
    for (const auto& k : kKeys) width = std::max(width, name_of(k.key).size());
    std::string out;
    for (const auto section : kSections) {
        out += fmt::format("[{}]\n", section);
        for (const auto& k : kKeys) {
            if (section_of(k.key) != section) continue;
            out += fmt::format("  {:<{}}  {}", name_of(k.key), width, k.doc);
            out += fmt::format("\n  {:<{}}  {}", "", width, describe_key_value(k));
            if (!k.default_value.empty()) out += fmt::format("; default {}", k.default_value);
            out += "\n";
        }
    }
    return out;
}

std::string experiment_keys_markdown() {
    std::string out = "| key | value | default | meaning |\n|---|---|---|---|\n";
    for (const auto& k : kKeys) {
        const std::string value = describe_key_value(k);
        out += fmt::format(
            "| `[{}] {}` | {} | {} | {} |\n", section_of(k.key), name_of(k.key), value,
            k.default_value.empty() ? std::string() : fmt::format("`{}`", k.default_value), k.doc);
    }
    return out;
}

}  // namespace plexus::core
