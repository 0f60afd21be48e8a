// Runs an experiment end to end: components from the registry, data, splits, training,
// test evaluation, and the run directory.
#pragma once

#include <filesystem>
#include <ostream>
#include <memory>
#include <string>
#include <vector>

#include "plexus/callback.hpp"
#include "plexus/core/experiment/experiment.hpp"
#include "plexus/core/registry/registry.hpp"
#include "plexus/core/training/communicator.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

struct RunOptions {
    RegistryOptions registry;
    std::filesystem::path out_dir = "runs";
    /// The exact run folder (created when missing, kept when training fails: a study's trial
    /// folder holds its log); empty: a new `<out_dir>/<name>-<time>/`.
    std::filesystem::path run_dir;
    /// Never read the test set: a test file is not opened, a held-out test fraction is still
    /// carved (so the training split is the same) but never evaluated. For study trials.
    bool skip_test = false;
    /// Called after the experiment's own callbacks (a study trial's reporter).
    std::vector<std::shared_ptr<Callback>> callbacks;
    /// Continue the run in `run_dir` from its last checkpoint (plexus train --resume). The
    /// experiment must be the run's own (RUN_DIR/experiment.ini), changed at most in
    /// train.epochs.
    bool resume = false;
    /// Write the full-state checkpoint (resume.safetensors) when training begins and after
    /// every epoch, so the run can be resumed. Study trials do without.
    bool checkpoints = true;
    /// The ranks of an MPI run (mpirun -np N plexus train): every rank trains its share of
    /// each batch, rank 0 alone writes the run folder. Null: this process alone.
    Communicator* communicator = nullptr;
};

struct RunResult {
    std::filesystem::path run_dir;
    Logs test;  // empty when the experiment has no test set
    double samples_per_second = 0.0;
    double seconds_per_epoch = 0.0;
    std::string stop_reason;
    /// How training ended (Trainer::ended()): completed, stopped, diverged, interrupted,
    /// terminated or failed.
    std::string ended;
};

/// Validates everything (components, parameters, data, shapes) before it creates the run
/// directory, so a bad experiment leaves nothing behind. Throws plexus::Error subclasses
/// with one-line messages. Whatever stops training (a callback, Ctrl-C, SIGTERM, a loss that
/// diverged, an exception once an epoch was saved), the run folder is completed: the model,
/// metrics.json saying how it ended, report.html. A signal before training began returns
/// with no folder written (result.run_dir empty).
RunResult run_experiment(const Experiment& experiment, const RunOptions& options,
                         std::ostream& out);

}  // namespace plexus::core

#pragma GCC visibility pop
