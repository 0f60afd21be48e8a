// Sequential model: layers applied in order, with shape inference at build time and
// activation/gradient buffers allocated once for the largest batch.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plexus/layer.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// Told during Sequential::backward that a layer's parameter gradients are final: backward
/// has passed it and nothing later writes them (a layer owns its parameters). The gradient
/// allreduce starts on them while backward goes on below (gradient_buckets.hpp).
class GradientObserver {
public:
    virtual void gradients_done(std::size_t layer) = 0;

protected:
    ~GradientObserver() = default;
};

class Sequential {
public:
    /// Appends a layer; `name` is its component name, used in messages and summaries.
    void add(std::shared_ptr<Layer> layer, std::string name);

    /// Builds every layer for inputs of `input` shape (first dimension: largest batch).
    /// Throws ShapeError "layer I (NAME): input [*, ..]: reason" naming the layer index, its
    /// component name, the input shape it got (batch as *) and the layer's own message (its
    /// leading "NAME: " dropped). Returns the output shape. `collective`: the ranks training
    /// the model together (BuildContext::collective), null alone.
    Shape build(const Shape& input, Device& device, std::uint64_t seed,
                Collective* collective = nullptr);

    /// Runs the layers on x (x.rows() <= the built batch). Returns a view of the output
    /// buffer, valid until the next forward. Allocates nothing.
    const Tensor& forward(const Tensor& x, Mode mode);
    /// Back-propagates dL/d(output) through every layer, writing parameter gradients.
    /// Requires the preceding forward() on the same x. Allocates nothing. `observer`, when
    /// given, hears of every layer it passes as soon as that layer's backward returned, last
    /// layer first (not of the layers below the lowest trainable one, which it skips).
    void backward(const Tensor& x, const Tensor& doutput, GradientObserver* observer = nullptr);
    /// The buffer backward() reads dL/d(output) from, for x.rows() rows; the loss writes
    /// its gradient here.
    Tensor output_grad(std::size_t rows) const;

    /// Parameters of every layer, named "layerI.NAME".
    const std::vector<Parameter*>& parameters() const { return params_; }
    /// The layer of each parameters() entry (ascending).
    const std::vector<std::size_t>& parameter_layers() const { return param_layer_; }
    /// Every tensor that defines the trained model: parameter values, then layer state
    /// (running statistics, ...), named "layerI.NAME".
    std::vector<NamedTensor> weights() const;
    std::size_t parameter_count() const;
    /// Every layer's Layer::checkpoint(), in order, for a full-state checkpoint.
    std::vector<SavedState> checkpoint_layers() const;
    /// Hands each layer its saved state back (after build()). Throws DataError when the
    /// count differs from the layers', Error from a layer missing an entry.
    void resume_layers(const std::vector<SavedState>& states);
    std::size_t size() const { return layers_.size(); }
    /// Layer `index`'s component name ("dense"). Requires index < size().
    const std::string& layer_name(std::size_t index) const { return layers_.at(index).name; }
    /// Layer `index`'s parameters, then its state, named "layerI.NAME" (weights() of one
    /// layer). Requires build() and index < size().
    std::vector<NamedTensor> layer_weights(std::size_t index) const;
    /// Layer::set_trainable on layer `index`. Throws Error naming the layer count when
    /// index >= size().
    void set_trainable(std::size_t index, bool trainable);
    const Shape& output_shape() const { return output_shape_; }
    /// Layer table (index, name, output shape, parameters) for the terminal.
    std::string summary() const;

private:
    struct Entry {
        std::shared_ptr<Layer> layer;
        std::string name;
        Shape output;                // with the largest batch
        Tensor activation;           // output buffer
        Tensor grad;                 // dL/d(output) buffer
        Tensor act_view, grad_view;  // views for the current batch
    };
    std::vector<Entry> layers_;
    std::vector<Parameter*> params_;
    std::vector<std::size_t> param_layer_;  // the layer of each params_ entry
    Shape input_shape_, output_shape_;
    Tensor output_view_;
};

}  // namespace plexus::core

#pragma GCC visibility pop
