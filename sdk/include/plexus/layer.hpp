// Layer: a differentiable transformation built from device primitives.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plexus/collective.hpp"
#include "plexus/device.hpp"
#include "plexus/export.hpp"
#include "plexus/plugin_kind.hpp"
#include "plexus/saved_state.hpp"
#include "plexus/tensor.hpp"

namespace plexus {

/// Train mode enables dropout masks and batch statistics; evaluation and prediction
/// always use infer.
enum class Mode : std::uint8_t { train, infer };

/// A trainable tensor and its gradient, as optimizers and regularizers see it.
struct Parameter {
    std::string name;  // "kernel", "bias", ... (the model prefixes the layer index)
    Tensor value;
    Tensor grad;  // same shape as value; overwritten by every backward()
    // May change between steps (freeze, unfreeze): layers read it in backward(), never a
    // copy taken at construction.
    bool trainable = true;
    float l1 = 0.0f;  // penalty weights added to the loss by the trainer
    float l2 = 0.0f;
};

/// A non-trained buffer that belongs with the model (running mean/variance, ...).
struct NamedTensor {
    std::string name;
    Tensor value;
};

/// What a layer needs to know at build time besides its input shape.
struct BuildContext {
    std::uint64_t seed = 0;   // per-layer seed for initialisation and dropout masks
    std::size_t index = 0;    // position in the model, for messages
    /// The ranks training this model together (MPI data parallelism), valid for the layer's
    /// life; null when the process trains alone (and in tests that build a layer by hand).
    Collective* collective = nullptr;
};

class PLEXUS_API Layer {
public:
    using Interface = Layer;
    static constexpr Kind kKind = Kind::layer;

    virtual ~Layer();

    /// Allocates parameters and workspaces for inputs of `input` shape, whose first
    /// dimension is the largest batch the layer will see. Returns the output shape (same
    /// first dimension). Throws ShapeError naming the expected shape when `input` does not
    /// fit; the model adds the layer index.
    virtual Shape build(const Shape& input, Device& device, const BuildContext& context) = 0;

    /// y = f(x). Requires x.rows() <= the built batch size and y shaped like the output for
    /// x.rows() rows. Allocates nothing.
    virtual void forward(const Tensor& x, const Tensor& y, Mode mode) = 0;

    /// Given x, the y forward() produced from it, and dL/dy: writes the gradients of every
    /// parameter and, when dx is not null, dL/dx. Allocates nothing.
    virtual void backward(const Tensor& x, const Tensor& y, const Tensor& dy,
                          const Tensor* dx) = 0;

    /// The layer's parameters; pointers stay valid for the layer's life.
    virtual std::vector<Parameter*> parameters();
    /// Non-trained buffers saved with the model.
    virtual std::vector<NamedTensor> state();

    /// Freezes (false) or unfreezes (true) the layer, before training or between two steps.
    /// Ensures every parameters() entry's `trainable` is `trainable`; the optimizer then skips
    /// or updates them, while dx still flows to the layer below. A layer whose forward differs
    /// when frozen overrides it (batchnorm: a frozen layer normalises with its running
    /// statistics in train mode too, as Keras >= 2.1 does). Default: sets the flags.
    virtual void set_trainable(bool trainable);

    /// Host values that change while training and are neither parameters nor state() (a
    /// dropout layer's random-number counter), for full-state checkpoints. Default: none.
    virtual void checkpoint(SavedState& out) const;
    /// Puts back what checkpoint() saved, after build(), when a run resumes. Throws
    /// plexus::Error when an entry is missing.
    virtual void resume(const SavedState& in);
};

}  // namespace plexus
