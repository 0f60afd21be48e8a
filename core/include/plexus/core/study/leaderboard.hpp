// What a study shows its user: one progress line per finished trial, and the leaderboard
// (text for the terminal, CSV for leaderboard.csv) with the epochs pruning saved.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "plexus/core/study/storage.hpp"
#include "plexus/core/study/study.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// A study's trials with what the leaderboard needs beyond storage: per trial (by index),
/// the epochs it would have trained if never pruned (0 when unknown, e.g. `command =`).
struct StudyTrials {
    std::vector<TrialRecord> trials;
    std::vector<std::uint64_t> max_epochs;
};

/// The objective a trial reached: a complete trial's value, else (pruned, failed) its best
/// intermediate value; nullopt when it has none. "Best" follows the direction.
std::optional<double> trial_objective(const TrialRecord& trial, bool maximize);
/// Index of the best complete trial, nullopt when none is complete.
std::optional<std::size_t> best_trial(const std::vector<TrialRecord>& trials, bool maximize);
/// Indices of the complete trials with a finite value, best first (ties: the earlier first).
std::vector<std::size_t> complete_trials_best_first(const std::vector<TrialRecord>& trials,
                                                    bool maximize);
/// "lr=0.0031 units=256": continuous values to 4 significant digits.
std::string params_text(const SearchSpace& space, const std::vector<double>& params);
/// "trial 7/40 lr=0.0031 units=256  val_accuracy 0.8812 complete 14.2 s  best 0.8890 (#3)
/// ETA 4m10s"; eta_seconds < 0: no ETA.
std::string progress_line(const StudySpec& spec, std::uint64_t planned, const TrialRecord& trial,
                          const std::vector<TrialRecord>& all, double eta_seconds);
/// Epochs pruned trials did not train, and the epochs every finished trial would have trained
/// if none had been pruned.
struct SavedEpochs {
    std::uint64_t saved = 0, planned = 0;
};
SavedEpochs saved_epochs(const StudyTrials& study);
/// Complete trials best first, then pruned (by their best value), then failed and running:
/// rank, trial, parameters, objective, epochs, seconds, state (failed: with the reason), and
/// "pruning saved N of M epochs" when the study has a pruner.
std::string leaderboard_text(const StudySpec& spec, const StudyTrials& study);
/// The same rows as CSV: rank,trial,state,objective,epochs,seconds,<parameters>,reason.
std::string leaderboard_csv(const StudySpec& spec, const StudyTrials& study);
/// "4m10s", "14.2 s" style durations.
std::string duration_text(double seconds);

}  // namespace plexus::core

#pragma GCC visibility pop
