// Hyperband (Li et al., "Hyperband: A Novel Bandit-Based Approach to Hyperparameter
// Optimization", JMLR 2017; the rules are Optuna 3.1's HyperbandPruner): successive halving
// needs a guess of how early a trial can be judged, and a wrong guess either wastes epochs or
// kills slow starters. Hyperband hedges by running several successive halvings ("brackets")
// side by side, from aggressive (first rung after min_resource epochs) to conservative (first
// rung near max_resource), each trial in one bracket and compared only with its bracket.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/support/pruning.hpp"

namespace {

constexpr std::uint64_t kMaxEpochs = 1000000000;  // keeps the bracket budgets exact in 64 bits

const plexus::ParamSpec kParams[] = {
    {"min_resource", plexus::ParamType::integer, "1", 1, static_cast<double>(kMaxEpochs), nullptr,
     "epochs before the first rung of the most aggressive bracket"},
    {"max_resource", plexus::ParamType::string, "auto", 0, 0, nullptr,
     "epochs of a full trial; auto: the trial's epochs"},
    {"reduction_factor", plexus::ParamType::integer, "3", 2, 1e6, nullptr,
     "rungs are this many times apart, and 1/reduction_factor of the trials continue at each"},
};

// splitmix64's finaliser: spreads consecutive trial numbers over the brackets.
std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

class Hyperband final : public plexus::Pruner {
public:
    explicit Hyperband(const plexus::Params& p)
        : min_resource_(static_cast<std::uint64_t>(p.get_int("min_resource"))),
          max_resource_(plexus::support::parse_auto_count("hyperband", "max_resource",
                                                          p.get_string("max_resource"))),
          reduction_factor_(static_cast<std::uint64_t>(p.get_int("reduction_factor"))) {}

    bool should_prune(const plexus::PruneContext& context,
                      const std::vector<plexus::TrialView>& history) override {
        std::uint64_t max_resource = max_resource_.value_or(context.max_steps);
        if (max_resource == 0) return false;  // no budget known: no brackets
        max_resource = std::min(max_resource, kMaxEpochs);
        const auto budgets = bracket_budgets(max_resource);
        const std::uint64_t bracket = bracket_of(context.trial_number, budgets);
        std::vector<const plexus::TrialView*> competitors;
        for (const auto& trial : history)
            if (trial.number != context.trial_number &&
                bracket_of(trial.number, budgets) == bracket)
                competitors.push_back(&trial);
        const plexus::support::Rungs rungs{min_resource_, reduction_factor_, bracket};
        return plexus::support::successive_halving_prunes(rungs, context, history, competitors);
    }

private:
    // Bracket b (of n = ⌊log_rf(max/min)⌋ + 1) starts its rungs at min · rf^b; its share of
    // the trials is Li et al.'s bracket size ⌈n · rf^s / (s + 1)⌉ with s = n - 1 - b, so the
    // aggressive brackets, which prune the most, get the most trials.
    std::vector<std::uint64_t> bracket_budgets(std::uint64_t max_resource) const {
        std::uint64_t n = 1;
        for (std::uint64_t r = min_resource_; r <= max_resource / reduction_factor_;
             r *= reduction_factor_)
            ++n;
        std::vector<std::uint64_t> budgets;
        for (std::uint64_t b = 0; b < n; ++b) {
            const std::uint64_t s = n - 1 - b;
            std::uint64_t power = 1;
            for (std::uint64_t i = 0; i < s; ++i) power *= reduction_factor_;
            budgets.push_back((n * power + s) / (s + 1));
        }
        return budgets;
    }

    // Deterministic in the trial number alone, so every process agrees without storing it.
    static std::uint64_t bracket_of(std::uint64_t trial_number,
                                    const std::vector<std::uint64_t>& budgets) {
        std::uint64_t total = 0;
        for (auto b : budgets) total += b;
        std::uint64_t ticket = mix(trial_number) % total;
        for (std::uint64_t b = 0; b < budgets.size(); ++b) {
            if (ticket < budgets[b]) return b;
            ticket -= budgets[b];
        }
        return budgets.size() - 1;
    }

    std::uint64_t min_resource_;
    std::optional<std::uint64_t> max_resource_;
    std::uint64_t reduction_factor_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Hyperband>(
    "hyperband", "0.1.0",
    "Hyperband: successive halving in brackets from aggressive to conservative", kParams))
