// An experiment's values read once, typed and checked against the key table (keys.hpp), with
// the table's defaults filled in. The layers below the run receive these, never the raw
// experiment, so a key is read, checked and defaulted in exactly one place.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "plexus/core/experiment/experiment.hpp"

#pragma GCC visibility push(default)

namespace plexus::core {

/// "FILE:LINE: " for a setting, or "" when it has no origin.
std::string at(const Setting& s);

struct DataSettings {
    std::filesystem::path file;      // the experiment file, for messages without a line
    std::filesystem::path base_dir;  // relative source paths start here
    std::optional<Setting> train, test, validation, split;
    std::vector<Setting> transforms;
    /// data.target: "input" (autoencoder: the prepared input is the target); unset: the
    /// source's class label or float target columns.
    std::optional<Setting> target;
    /// data.target_transform: "none", "standardize" or "scale"; float targets only.
    Setting target_transform;
    bool prefetch = true;
    std::uint64_t seed = 42;
    std::size_t train_limit = 0, test_limit = 0;  // 0: every sample
    std::optional<Setting> classes;               // data.classes: "5-9" keeps those, renumbered
    float divide = 255.0f;                        // uint8 samples are divided by this
};

struct ModelSettings {
    std::vector<Setting> layers;
    Setting loss;
    std::optional<Setting> init_from;  // "RUN_DIR|MODEL [layers=RANGES]"
    std::optional<Setting> freeze;     // layer indices "0-3,5"
};

struct TrainSettings {
    Setting device, optimizer;
    std::vector<Setting> layer_optimizers;  // "LAYERS: name key=value ..."
    std::size_t batch_size = 32;  // 0: the whole training set (batch_size = full)
    std::size_t epochs = 1;
    std::vector<Setting> metrics, callbacks;
    std::uint64_t seed = 42;
    int verbose = 1;
    bool overlap_allreduce = true;  // several ranks: sum gradients while backward runs
    std::size_t bucket_bytes = std::size_t{25} << 20;
};

struct ExperimentSettings {
    std::string name;  // experiment.name, else the file's stem
    std::filesystem::path file;
    DataSettings data;
    ModelSettings model;
    TrainSettings train;
};

/// Reads every key of `exp` through the key table: numbers and booleans are checked against
/// its ranges (ConfigError "FILE:LINE: KEY must be an integer in [MIN, MAX], found 'X'"), unset
/// keys get its defaults (a default naming another key, such as train.seed's, takes that
/// key's value; a defaulted component's `where` is the key's name).
ExperimentSettings read_settings(const Experiment& exp);

}  // namespace plexus::core

#pragma GCC visibility pop
