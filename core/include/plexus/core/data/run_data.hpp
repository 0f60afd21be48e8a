// The data side of a run: sources, honest splits, class counts per split and the warnings a
// user should see before training starts.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plexus/core/data/dataset.hpp"
#include "plexus/core/experiment/settings.hpp"

#pragma GCC visibility push(default)

namespace plexus::core {

struct RunData {
    // Subsets point into these, so RunData is never moved (it lives behind a unique_ptr).
    Dataset train_data;
    std::unique_ptr<Dataset> test_data, validation_data;
    Subset train, validation, test;
    std::size_t classes = 0;
    std::vector<std::size_t> train_counts;  // per class, training split
    nlohmann::json split_json;              // sizes and class counts per split
    std::vector<std::string> warnings;      // a class missing from a split, ...
};

/// Loads the experiment's data and splits it: a seeded shuffle before every split, never
/// "the last rows"; validation is carved from train (or read from its own source), and the
/// test set is a file or a held-out fraction that training never sees.
std::unique_ptr<RunData> load_run_data(const DataSettings& settings);

}  // namespace plexus::core

#pragma GCC visibility pop
