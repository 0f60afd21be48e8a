// Test helpers for sampler plugins: search-space parameters in one line each, finished
// trials for a history, and a driver that runs a whole sequential study against a function.
// Header-only; run_study() needs the loaders of plexus/testing.hpp only through its caller.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "plexus/sampler.hpp"
#include "plexus/study.hpp"

namespace plexus::testing {

inline SpaceParam uniform(std::string name, double low, double high, double step = 0.0) {
    return {std::move(name), SpaceKind::uniform, low, high, step, false, {}};
}
inline SpaceParam log_uniform(std::string name, double low, double high) {
    return {std::move(name), SpaceKind::log_uniform, low, high, 0.0, false, {}};
}
inline SpaceParam integer(std::string name, double low, double high, double step = 1.0,
                          bool log = false) {
    return {std::move(name), SpaceKind::integer, low, high, step, log, {}};
}
inline SpaceParam choice(std::string name, std::vector<std::string> choices) {
    const double last = static_cast<double>(choices.size()) - 1.0;
    return {std::move(name), SpaceKind::choice, 0.0, last, 0.0, false, std::move(choices)};
}

/// A finished trial: complete with `value`, or in `state` without one.
inline TrialView trial(std::uint64_t number, std::vector<double> params, double value,
                       TrialState state = TrialState::complete) {
    TrialView t;
    t.number = number;
    t.state = state;
    t.params = std::move(params);
    if (state == TrialState::complete) t.value = value;
    return t;
}

/// Runs `trials` sequential trials of `sampler` on `objective` (lower is better) with `seed`
/// and returns the history, every trial complete, in order.
inline std::vector<TrialView> run_study(
    Sampler& sampler, const SearchSpace& space,
    const std::function<double(const std::vector<double>&)>& objective, std::uint64_t trials,
    std::uint64_t seed) {
    std::vector<TrialView> history;
    for (std::uint64_t n = 0; n < trials; ++n) {
        auto params = sampler.suggest(space, history, {seed, n});
        const double value = objective(params);
        history.push_back(trial(n, std::move(params), value));
    }
    return history;
}

}  // namespace plexus::testing
