// Pruner: stops unpromising trials early from their intermediate values (median, successive
// halving, Hyperband, ...).
#pragma once

#include <cstdint>
#include <vector>

#include "plexus/export.hpp"
#include "plexus/plugin_kind.hpp"
#include "plexus/study.hpp"

namespace plexus {

/// The report a pruner decides on.
struct PruneContext {
    std::uint64_t trial_number = 0;  // the reporting trial
    std::uint64_t step = 0;          // 1-based epoch just finished
    double value = 0.0;              // its objective at that step, lower is better
    std::uint64_t max_steps = 0;     // the epochs the trial would run if never pruned
};

class PLEXUS_API Pruner {
public:
    using Interface = Pruner;
    static constexpr Kind kKind = Kind::pruner;

    virtual ~Pruner();

    /// Whether the trial should stop now. `history` holds every trial of the study, the
    /// reporting one included (state running, its intermediate values up to this step).
    /// Must be a function of its arguments alone: several processes share one study.
    virtual bool should_prune(const PruneContext& context,
                              const std::vector<TrialView>& history) = 0;
};

}  // namespace plexus
