// Test helpers for pruner plugins: trials built from a list of per-epoch values, and a study
// simulated the way the host runs one — trials one after another, the pruner asked after
// every epoch — on synthetic learning curves value(t) = a + b / t. Header-only.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "plexus/pruner.hpp"
#include "plexus/study.hpp"

namespace plexus::testing {

/// A trial whose intermediate values are `values` at epochs 1, 2, ...; a complete trial's
/// objective is its last value.
inline TrialView make_trial(std::uint64_t number, TrialState state,
                            const std::vector<double>& values) {
    TrialView trial;
    trial.number = number;
    trial.state = state;
    for (std::size_t i = 0; i < values.size(); ++i)
        trial.intermediate.emplace_back(i + 1, values[i]);
    if (state == TrialState::complete && !values.empty()) trial.value = values.back();
    return trial;
}

/// Asks `pruner` about trial `number`'s report of `value` at the epoch after `earlier` (its
/// values at epochs 1, 2, ...), the trial added to `others` as running.
inline bool prunes_report(Pruner& pruner, std::vector<TrialView> others, std::uint64_t number,
                          std::vector<double> earlier, double value, std::uint64_t max_steps) {
    const std::uint64_t step = earlier.size() + 1;
    earlier.push_back(value);
    others.push_back(make_trial(number, TrialState::running, earlier));
    return pruner.should_prune({number, step, value, max_steps}, others);
}

/// A learning curve that falls from a + b at epoch 1 towards a.
struct SyntheticCurve {
    double a = 0.0;
    double b = 0.0;
    double at(std::uint64_t epoch) const { return a + b / static_cast<double>(epoch); }
};

/// `count` curves with a in [0.2, 0.6) and b in [0.2, 1.2) from a fixed linear congruential
/// generator (the same on every platform).
inline std::vector<SyntheticCurve> synthetic_curves(std::size_t count, std::uint64_t seed) {
    std::uint64_t state = seed;
    auto uniform = [&state] {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<double>(state >> 11) / 9007199254740992.0;  // [0, 1)
    };
    std::vector<SyntheticCurve> curves;
    for (std::size_t i = 0; i < count; ++i) {
        const double a = 0.2 + 0.4 * uniform();
        curves.push_back({a, 0.2 + uniform()});
    }
    return curves;
}

struct Simulation {
    std::vector<TrialView> trials;  // final states; pruned trials end at their last epoch
    std::uint64_t epochs = 0;       // epochs trained in all
    std::uint64_t unpruned_epochs = 0;
};

/// Runs trial 0, 1, ... for up to `max_epochs` epochs each, asking `pruner` after every epoch
/// with the history as the host gives it (earlier trials final, the reporting one running).
inline Simulation simulate(Pruner& pruner, const std::vector<SyntheticCurve>& curves,
                           std::uint64_t max_epochs) {
    Simulation sim;
    for (std::size_t i = 0; i < curves.size(); ++i) {
        sim.trials.push_back(make_trial(i, TrialState::running, {}));
        sim.unpruned_epochs += max_epochs;
        for (std::uint64_t t = 1; t <= max_epochs; ++t) {
            const double value = curves[i].at(t);
            sim.trials.back().intermediate.emplace_back(t, value);
            ++sim.epochs;
            if (pruner.should_prune({i, t, value, max_epochs}, sim.trials)) {
                sim.trials.back().state = TrialState::pruned;
                break;
            }
            if (t == max_epochs) {
                sim.trials.back().state = TrialState::complete;
                sim.trials.back().value = value;
            }
        }
    }
    return sim;
}

/// The study of plugins/pruners/optuna_reference.py: synthetic_curves(30, 2017), 27 epochs
/// each. Its best trial (lowest value at epoch 27) is trial kReferenceBest.
inline Simulation simulate_reference_study(Pruner& pruner) {
    return simulate(pruner, synthetic_curves(30, 2017), 27);
}
inline constexpr std::uint64_t kReferenceBest = 15;  // a = 0.232, b = 0.308

/// The numbers of the trials the simulation pruned, in order.
inline std::vector<std::uint64_t> pruned_trials(const Simulation& sim) {
    std::vector<std::uint64_t> numbers;
    for (const auto& trial : sim.trials)
        if (trial.state == TrialState::pruned) numbers.push_back(trial.number);
    return numbers;
}

/// The index of the curve with the lowest value at `epoch`.
inline std::size_t best_curve(const std::vector<SyntheticCurve>& curves, std::uint64_t epoch) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < curves.size(); ++i)
        if (curves[i].at(epoch) < curves[best].at(epoch)) best = i;
    return best;
}

/// One line for the test log: "median: 412 of 810 epochs (51 %), 21 trials pruned".
inline std::string summary(const std::string& name, const Simulation& sim) {
    std::size_t pruned = 0;
    for (const auto& trial : sim.trials) pruned += trial.state == TrialState::pruned;
    char line[160];
    std::snprintf(
        line, sizeof line, "%s: %llu of %llu epochs (%.0f %%), %zu trials pruned", name.c_str(),
        static_cast<unsigned long long>(sim.epochs),
        static_cast<unsigned long long>(sim.unpruned_epochs),
        100.0 * static_cast<double>(sim.epochs) / static_cast<double>(sim.unpruned_epochs), pruned);
    return line;
}

}  // namespace plexus::testing
