// The end of a study: leaderboard.csv, best.ini, the best trial evaluated once on the test
// set, and what `plexus study DIR` prints.
#pragma once

#include <ostream>
#include <string>

#include "plexus/core/registry/registry.hpp"
#include "plexus/core/study/engine.hpp"
#include "plexus/core/study/leaderboard.hpp"
#include "plexus/core/study/storage.hpp"
#include "plexus/core/study/study.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

struct StudyContext {
    const StudySpec& spec;
    StudyStorage& storage;
    const Registry& registry;
    const std::string& base_text;  // the base experiment's text; empty for `command =`
};

/// The study's trials with each one's unpruned epochs.
StudyTrials load_study_trials(const StudyContext& study);

/// Prints and writes (atomically) the leaderboard and leaderboard.csv; writes best.ini (the
/// base experiment with the best values, relocated to the study folder); evaluates the best
/// trial's saved model on the experiment's test set — the only time a study reads it — prints
/// the metrics and stores them as the attribute "test_metrics" (JSON). Returns
/// StudyEnd::test_failed, after printing the error, when that evaluation fails.
StudyEnd write_study_outputs(const StudyContext& study, std::ostream& out);

/// `plexus study`: the leaderboard and, when stored, the best trial's test metrics.
void print_study(const StudyContext& study, std::ostream& out);

}  // namespace plexus::core

#pragma GCC visibility pop
