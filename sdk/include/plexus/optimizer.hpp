// Optimizer: updates parameters from their gradients.
#pragma once

#include <span>
#include <vector>

#include "plexus/export.hpp"
#include "plexus/layer.hpp"

namespace plexus {

class PLEXUS_API Optimizer {
public:
    using Interface = Optimizer;
    static constexpr Kind kKind = Kind::optimizer;

    virtual ~Optimizer();

    /// Allocates per-parameter state (moments, ...) for exactly these parameters.
    virtual void build(std::span<Parameter* const> params, Device& device) = 0;

    /// One update of every trainable parameter from its grad, with learning rate `lr`.
    /// Requires the parameters given to build(), in the same order. Allocates nothing.
    virtual void step(std::span<Parameter* const> params, float lr) = 0;

    /// The learning rate the user configured (the trainer's starting value).
    virtual float learning_rate() const = 0;

    /// State tensors for checkpoints (moments, step count as a one-element tensor, ...).
    virtual std::vector<NamedTensor> state();
};

}  // namespace plexus
