// `plexus tune`: runs (or resumes) a study. Trials are child processes — `plexus train` on the
// substituted experiment, or the study's `command` through /bin/sh — up to `parallel` at once;
// the storage hands out trials, so several `plexus tune` processes can share a study.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "plexus/core/registry/registry.hpp"
#include "plexus/core/study/study.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

struct TuneOptions {
    RegistryOptions registry;
    std::uint64_t trials = 0;            // 0: the study file's (a grid's size when unset)
    std::uint64_t parallel = 0;          // 0: the study file's
    std::optional<std::string> storage;  // overrides the study file's URL
    /// The `plexus` binary trials run (`train TRIAL.ini ...`), and the arguments every trial
    /// gets besides its own (--plugin-path ...).
    std::filesystem::path program = "/proc/self/exe";
    std::vector<std::string> trial_args;
    double heartbeat_seconds = 5.0;
    /// Keep a live summary line (running trials, their epoch and value, the best so far)
    /// redrawn in place under the progress lines: for a terminal.
    bool live = false;
};

/// What run_study ended with.
enum class StudyEnd {
    done,         // the plan is complete (other workers' trials may still be running)
    interrupted,  // Ctrl-C or SIGTERM: children killed, their trials left to a later run
    test_failed,  // the study is done but evaluating the best trial on the test set failed
};

/// Runs the study to its planned number of trials, then writes leaderboard.csv, best.ini and
/// the best trial's test metrics (printed, and stored as the attribute "test_metrics").
/// Requires: `spec` from load_study. Throws ConfigError / PluginError for a study that cannot
/// run (unknown sampler or pruner, a placeholder problem, an objective the experiment never
/// logs, a study folder that is a file, a changed definition), with one-line messages.
StudyEnd run_study(const StudySpec& spec, const TuneOptions& options, std::ostream& out);

/// The epochs trial `params` would train if never pruned (train.epochs of the substituted
/// experiment); 0 for `command =` studies or when it cannot be read.
std::uint64_t trial_max_epochs(const StudySpec& spec, const std::string& base_text,
                               const std::vector<double>& params);

}  // namespace plexus::core

#pragma GCC visibility pop
