// Hyperparameter studies as samplers and pruners see them: the search space and the trials
// made so far. The host parses the study file, keeps the trials in its storage and converts
// every objective to "lower is better" before a sampler or pruner sees it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace plexus {

/// How a parameter of the search space is drawn (its distribution).
enum class SpaceKind : std::uint32_t {
    uniform,      // real in [low, high]; with step > 0 only low + k·step
    log_uniform,  // real in [low, high], 0 < low, uniform in log(value)
    integer,      // integer in [low, high] (step ≥ 1, default 1); `log` draws uniform in log
    choice,       // one of `choices`; its value is the index 0 .. choices.size() - 1
};

/// One named parameter of a study's [space] section ("lr = loguniform 1e-4 1e-1").
struct SpaceParam {
    std::string name;
    SpaceKind kind = SpaceKind::uniform;
    double low = 0.0;  // inclusive bounds; for choice 0 and choices.size() - 1
    double high = 0.0;
    double step = 0.0;                 // uniform: 0 = continuous; integer: ≥ 1
    bool log = false;                  // integer only: draw uniformly in log(value)
    std::vector<std::string> choices;  // choice only, as written in the study file
};

/// The parameters in the order of the study file. Every vector of parameter values below has
/// one entry per SpaceParam, in this order.
using SearchSpace = std::vector<SpaceParam>;

/// A trial's state. Failed trials include crashed, diverged, timed-out and interrupted ones.
enum class TrialState : std::uint32_t { running, complete, pruned, failed };

/// One trial of the study.
struct TrialView {
    std::uint64_t number = 0;  // 0-based, in order of creation within the study
    TrialState state = TrialState::running;
    std::vector<double> params;   // one value per SearchSpace entry (choice: the index)
    std::optional<double> value;  // the objective, lower is better (complete trials only)
    /// (step, value) reported during the trial, lower is better; steps are 1-based epochs,
    /// strictly increasing.
    std::vector<std::pair<std::uint64_t, double>> intermediate;
};

}  // namespace plexus
