// Asynchronous successive halving (ASHA: Li et al., "A System for Massively Parallel
// Hyperparameter Tuning", 2020; the rules are Optuna 3.1's SuccessiveHalvingPruner): a trial
// is checked at rungs of geometrically growing epochs and continues only while it is among
// the best 1/reduction_factor of the values seen at that rung. Asynchronous because it never
// waits for a rung to fill: a trial is compared with whoever has reached the rung so far,
// so workers are never idle and trials need not start together.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/support/pruning.hpp"

namespace {

const plexus::ParamSpec kParams[] = {
    {"min_resource", plexus::ParamType::string, "auto", 0, 0, nullptr,
     "epochs before the first rung; auto: 1 per 100 epochs the trial may run (at least 1)"},
    {"reduction_factor", plexus::ParamType::integer, "3", 2, 1e6, nullptr,
     "rungs are this many times apart, and 1/reduction_factor of the trials continue at each"},
    {"min_early_stopping_rate", plexus::ParamType::integer, "0", 0, 64, nullptr,
     "the first rung is at min_resource * reduction_factor^this epochs"},
};

// Optuna's estimate when the trial's epoch budget is unknown: from the longest completed trial.
std::optional<std::uint64_t> estimate_min_resource(const plexus::PruneContext& context,
                                                   const std::vector<plexus::TrialView>& history) {
    std::uint64_t epochs = context.max_steps;
    if (epochs == 0)
        for (const auto& trial : history)
            if (trial.state == plexus::TrialState::complete && !trial.intermediate.empty())
                epochs = std::max(epochs, trial.intermediate.back().first);
    if (epochs == 0) return std::nullopt;
    return std::max<std::uint64_t>(epochs / 100, 1);
}

class SuccessiveHalving final : public plexus::Pruner {
public:
    explicit SuccessiveHalving(const plexus::Params& p)
        : min_resource_(plexus::support::parse_auto_count("successive_halving", "min_resource",
                                                          p.get_string("min_resource"))),
          reduction_factor_(static_cast<std::uint64_t>(p.get_int("reduction_factor"))),
          min_early_stopping_rate_(
              static_cast<std::uint64_t>(p.get_int("min_early_stopping_rate"))) {}

    bool should_prune(const plexus::PruneContext& context,
                      const std::vector<plexus::TrialView>& history) override {
        const auto min_resource =
            min_resource_ ? min_resource_ : estimate_min_resource(context, history);
        if (!min_resource) return false;
        std::vector<const plexus::TrialView*> competitors;
        for (const auto& trial : history)
            if (trial.number != context.trial_number) competitors.push_back(&trial);
        const plexus::support::Rungs rungs{*min_resource, reduction_factor_,
                                           min_early_stopping_rate_};
        return plexus::support::successive_halving_prunes(rungs, context, history, competitors);
    }

private:
    std::optional<std::uint64_t> min_resource_;
    std::uint64_t reduction_factor_;
    std::uint64_t min_early_stopping_rate_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<SuccessiveHalving>(
    "successive_halving", "0.1.0",
    "Asynchronous successive halving: keep the best 1/reduction_factor at each rung", kParams))
