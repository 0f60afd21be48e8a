// Collective: the processes (MPI ranks) one data-parallel training run spans, as a layer sees
// them. Layers are plugins and never see MPI; a layer that must agree with the other ranks
// (batchnorm with sync=true: SyncBatchNorm's statistics over the global batch) sums its
// partial values through this. A process alone is a group of one, where the sum is a no-op.
#pragma once

#include <cstddef>
#include <span>

#include "plexus/export.hpp"

namespace plexus {

class PLEXUS_API Collective {
public:
    virtual ~Collective();
    /// How many ranks train this model (1 alone) and which this one is (0-based).
    virtual std::size_t size() const = 0;
    virtual std::size_t rank() const = 0;
    /// Replaces `values` on every rank with their elementwise sum over all ranks.
    /// Requires: every rank calls it at the same point of the step with the same count (a
    /// rank that skips a call leaves the others waiting). Host memory; allocates nothing.
    virtual void allreduce_sum(std::span<float> values) = 0;
};

}  // namespace plexus
