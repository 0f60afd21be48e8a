// The steps of a run after training (run.cpp does the ones before): shared by run.cpp and
// run_outputs.cpp only.
#pragma once

#include <ostream>

#include "plexus/core/data/run_data.hpp"
#include "plexus/core/experiment/settings.hpp"
#include "plexus/core/registry/registry.hpp"
#include "plexus/core/run/run.hpp"
#include "plexus/core/training/trainer.hpp"

namespace plexus::core {

/// What the steps after training read.
struct FinishedTraining {
    const Experiment& experiment;
    const Registry& registry;
    const RunData& data;
    Trainer& trainer;
    const History& history;
};

/// Saves the kept weights to model.safetensors, evaluates on the test set (and, for the
/// classification report, the validation set when there is no test set), writes
/// metrics.json and report.html, and prints the summary. Fills result.test.
void write_run_outputs(const FinishedTraining& run, RunResult& result, std::ostream& out);

}  // namespace plexus::core
