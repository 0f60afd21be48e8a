// What the pruners (median, successive_halving, hyperband) share: reading the reporting
// trial's curve out of the history, "auto"-or-count parameters, and asynchronous successive
// halving (Li et al., "A System for Massively Parallel Hyperparameter Tuning", 2020 — ASHA,
// as Optuna's SuccessiveHalvingPruner runs it), which Hyperband runs once per bracket.
//
// Pruners are stateless (several processes share a study), so where Optuna stores "the value
// this trial had when it reached rung k" as a trial attribute, this header re-derives it from
// the trial's intermediate values: its first value reported at or after the rung's step.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "plexus/error.hpp"
#include "plexus/pruner.hpp"
#include "plexus/study.hpp"

namespace plexus::support {

using Curve = std::vector<std::pair<std::uint64_t, double>>;

/// The reporting trial's (step, value) pairs up to and including context.step, the last one
/// being context's own report (whether or not the history already holds it).
inline Curve reported_curve(const PruneContext& context, const std::vector<TrialView>& history) {
    Curve curve;
    for (const auto& trial : history) {
        if (trial.number != context.trial_number) continue;
        for (const auto& point : trial.intermediate)
            if (point.first < context.step) curve.push_back(point);
        break;
    }
    std::sort(curve.begin(), curve.end());
    curve.emplace_back(context.step, context.value);
    return curve;
}

/// Whether the report is the trial's last epoch. Pruning there saves nothing and would turn a
/// finished trial (with an objective worth keeping) into a pruned one, so no pruner does.
inline bool at_last_step(const PruneContext& context) {
    return context.max_steps > 0 && context.step >= context.max_steps;
}

/// Parses a parameter that is "auto" (nullopt) or a whole number in [1, 10^9]. Throws
/// ParamError naming the component and parameter.
inline std::optional<std::uint64_t> parse_auto_count(const std::string& component,
                                                     const std::string& param,
                                                     const std::string& text) {
    if (text == "auto") return std::nullopt;
    constexpr std::uint64_t kMax = 1000000000;
    std::uint64_t value = 0;
    bool ok = !text.empty() && text.size() <= 10;
    for (char c : text) {
        ok = ok && c >= '0' && c <= '9';
        if (ok) value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (!ok || value < 1 || value > kMax)
        throw ParamError(component + ": " + param + " must be 'auto' or a whole number from 1 to " +
                         std::to_string(kMax) + ", got '" + text + "'");
    return value;
}

/// Where successive halving decides: rung k sits at epoch
/// min_resource · reduction_factor^(min_early_stopping_rate + k).
struct Rungs {
    std::uint64_t min_resource = 1;
    std::uint64_t reduction_factor = 3;
    std::uint64_t min_early_stopping_rate = 0;

    /// The epoch of rung k; UINT64_MAX once that is past any representable epoch.
    std::uint64_t step_of(std::uint64_t rung) const {
        constexpr auto kNever = std::numeric_limits<std::uint64_t>::max();
        std::uint64_t step = min_resource;
        for (std::uint64_t i = 0; i < min_early_stopping_rate + rung; ++i) {
            if (step > kNever / reduction_factor) return kNever;
            step *= reduction_factor;
        }
        return step;
    }
};

/// A trial's value at the rung at `rung_step`: its first value reported at or after that
/// step, as the trial would have recorded it on reaching the rung. None when it has not
/// reached the rung, or reached it with NaN (a NaN is pruned, never recorded).
inline std::optional<double> rung_value(const TrialView& trial, std::uint64_t rung_step) {
    std::optional<std::pair<std::uint64_t, double>> first;
    for (const auto& point : trial.intermediate)
        if (point.first >= rung_step && (!first || point.first < first->first)) first = point;
    if (!first || std::isnan(first->second)) return std::nullopt;
    return first->second;
}

/// Whether `value` stays in the top 1/reduction_factor of `values` (which include it):
/// it must be at most the ⌊n/rf⌋-th smallest. Ties continue, and so does every trial while a
/// rung holds fewer than rf values (the top 1/rf of them is not one whole trial yet).
inline bool promotable(double value, std::vector<double> values, std::uint64_t reduction_factor) {
    if (values.size() < reduction_factor) return true;
    const std::size_t keep = values.size() / reduction_factor;
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(keep - 1),
                     values.end());
    return value <= values[keep - 1];
}

/// Asynchronous successive halving. At each rung the report crosses (its step is at or past
/// the rung's, the trial's previous report was before it) the trial continues only when its
/// value is promotable among the rung values of `competitors` plus its own; a NaN at a rung
/// is pruned. `competitors` must not hold the reporting trial. Requires min_resource ≥ 1 and
/// reduction_factor ≥ 2 (otherwise nothing is pruned).
inline bool successive_halving_prunes(const Rungs& rungs, const PruneContext& context,
                                      const std::vector<TrialView>& history,
                                      const std::vector<const TrialView*>& competitors) {
    if (at_last_step(context) || rungs.min_resource < 1 || rungs.reduction_factor < 2) return false;
    const Curve curve = reported_curve(context, history);
    const std::uint64_t previous = curve.size() > 1 ? curve[curve.size() - 2].first : 0;
    for (std::uint64_t rung = 0;; ++rung) {
        const std::uint64_t rung_step = rungs.step_of(rung);
        if (rung_step > context.step || rung_step == std::numeric_limits<std::uint64_t>::max())
            return false;
        if (rung_step <= previous) continue;  // decided at an earlier report
        if (std::isnan(context.value)) return true;
        std::vector<double> values{context.value};
        for (const TrialView* other : competitors)
            if (auto v = rung_value(*other, rung_step)) values.push_back(*v);
        if (!promotable(context.value, std::move(values), rungs.reduction_factor)) return true;
    }
}

}  // namespace plexus::support
