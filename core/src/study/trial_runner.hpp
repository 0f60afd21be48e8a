// One trial from launch to its recorded end: shared by engine.cpp (the loop) and
// trial_runner.cpp only.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "plexus/core/study/storage.hpp"
#include "plexus/core/study/study.hpp"
#include "plexus/core/study/trial_channel.hpp"
#include "plexus/core/study/trial_process.hpp"
#include "plexus/pruner.hpp"

namespace plexus::core {

using StudyClock = std::chrono::steady_clock;

/// What every trial of one study shares.
struct TrialSetup {
    const StudySpec& spec;
    std::string base_text;  // the base experiment's text (empty for `command =`)
    std::filesystem::path program;
    std::vector<std::string> trial_args;
};

struct RunningTrial {
    TrialRecord record;
    std::filesystem::path dir;  // trials/NNNN
    std::uint64_t max_epochs = 0;
    std::unique_ptr<TrialProcess> process;
    std::unique_ptr<ChannelReader> channel;                  // null for `command =`
    std::vector<std::pair<std::uint64_t, double>> reported;  // as logged
    StudyClock::time_point deadline = StudyClock::time_point::max();
    bool prune_sent = false;
    std::string kill_reason;    // set when the study killed it (timeout, diverged, ...)
    std::string missing_names;  // set when the objective is not logged (a study error)
    bool objective_missing = false;
};

/// Writes trials/NNNN/ (the relocated experiment) and starts the child. Throws Error when
/// the folder or the process cannot be made.
std::unique_ptr<RunningTrial> start_trial(const TrialSetup& setup, const TrialRecord& record);

/// Handles what the child sent: stores reports, asks `pruner` (may be null), answers.
/// Kills the trial on divergence or a malformed message.
void handle_channel(RunningTrial& trial, StudyStorage& storage, Pruner* pruner,
                    const StudySpec& spec);

/// How an ended trial goes into storage.
struct TrialOutcome {
    TrialState state = TrialState::failed;
    std::optional<double> value;
    std::string reason;
    std::string log_tail;
};
TrialOutcome conclude_trial(const RunningTrial& trial, const TrialExit& exit,
                            const StudySpec& spec);

/// Trial views for samplers and pruners: objectives negated when maximizing.
std::vector<TrialView> trial_views(const std::vector<TrialRecord>& trials, bool maximize);

}  // namespace plexus::core
