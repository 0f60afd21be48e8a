// Sampler: proposes the parameters of a study's next trial (grid, random, TPE, ...).
#pragma once

#include <cstdint>
#include <vector>

#include "plexus/export.hpp"
#include "plexus/plugin_kind.hpp"
#include "plexus/study.hpp"

namespace plexus {

/// What a suggestion may depend on besides the space and the history.
struct SuggestContext {
    std::uint64_t seed = 0;          // the study's seed
    std::uint64_t trial_number = 0;  // the number the new trial will get
};

class PLEXUS_API Sampler {
public:
    using Interface = Sampler;
    static constexpr Kind kKind = Kind::sampler;

    virtual ~Sampler();

    /// Throws ConfigError (one line naming the parameter) when this sampler cannot search
    /// `space`, e.g. a grid over a continuous range without a step. Called once before any
    /// trial runs. Accepts every space by default.
    virtual void check(const SearchSpace& space) const;
    /// How many distinct trials the sampler can propose (a grid: the product of its axes),
    /// 0 when unbounded (the default). The host uses it as the default number of trials.
    virtual std::uint64_t size(const SearchSpace& space) const;
    /// The parameters of trial `context.trial_number`: one value per space entry, inside its
    /// bounds (integers and choice indices as whole numbers, on the step's lattice).
    /// `history` holds every trial created before it, in any state (running ones too, so a
    /// grid never proposes a point twice). Must be a function of its arguments alone, so
    /// the same seed and history give the same suggestion, in any process.
    virtual std::vector<double> suggest(const SearchSpace& space,
                                        const std::vector<TrialView>& history,
                                        const SuggestContext& context) = 0;
};

}  // namespace plexus
