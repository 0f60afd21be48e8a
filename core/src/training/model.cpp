#include "plexus/core/training/model.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "plexus/error.hpp"

namespace plexus::core {
namespace {

std::string batchless(const Shape& s) {
    std::string out = "[*";
    for (std::size_t i = 1; i < s.rank(); ++i) out += ", " + std::to_string(s[i]);
    return out + "]";
}

// A layer's ShapeError usually starts with its own name ("dropout: ..."), which the model's
// "layer I (NAME)" prefix already gives: keep one.
std::string own_words(const char* what, const std::string& name) {
    const std::string text = what, own = name + ": ";
    return text.rfind(own, 0) == 0 ? text.substr(own.size()) : text;
}

}  // namespace

void Sequential::add(std::shared_ptr<Layer> layer, std::string name) {
    layers_.push_back({std::move(layer), std::move(name), {}, {}, {}, {}, {}});
}

Shape Sequential::build(const Shape& input, Device& device, std::uint64_t seed,
                        Collective* collective) {
    if (layers_.empty())
        throw ShapeError("the model has no layers (add 'layer = ...' lines to [model])");
    input_shape_ = input;
    Shape shape = input;
    params_.clear();
    param_layer_.clear();
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        auto& e = layers_[i];
        BuildContext ctx;
        ctx.index = i;
        ctx.seed = seed * 1000003ULL + i * 7919ULL + 1;
        ctx.collective = collective;
        try {
            e.output = e.layer->build(shape, device, ctx);
        } catch (const ShapeError& err) {
            throw ShapeError("layer " + std::to_string(i) + " (" + e.name + "): input " +
                             batchless(shape) + ": " + own_words(err.what(), e.name));
        }
        if (e.output.rank() == 0 || e.output[0] != shape[0])
            throw ShapeError("layer " + std::to_string(i) + " (" + e.name + ") returned output " +
                             e.output.str() + " for input " + shape.str() +
                             "; the batch dimension must be kept");
        e.activation = device.alloc(e.output);
        e.grad = device.alloc(e.output);
        for (Parameter* p : e.layer->parameters()) {
            if (p->name.rfind("layer", 0) != 0)
                p->name = "layer" + std::to_string(i) + "." + p->name;
            params_.push_back(p);
            param_layer_.push_back(i);
        }
        shape = e.output;
    }
    output_shape_ = shape;
    return shape;
}

const Tensor& Sequential::forward(const Tensor& x, Mode mode) {
    const std::size_t n = x.rows();
    const Tensor* in = &x;
    for (auto& e : layers_) {
        e.act_view = e.activation.rows(0, n);
        e.layer->forward(*in, e.act_view, mode);
        in = &e.act_view;
    }
    output_view_ = *in;
    return output_view_;
}

Tensor Sequential::output_grad(std::size_t rows) const {
    return layers_.back().grad.rows(0, rows);
}

void Sequential::backward(const Tensor& x, const Tensor& doutput, GradientObserver* observer) {
    const std::size_t n = x.rows();
    // Below the lowest layer with a trainable parameter no gradient is used (a frozen
    // backbone): stop there. Read from the flags each step, as unfreeze may change them.
    std::size_t lowest = layers_.size();
    for (std::size_t k = 0; k < params_.size(); ++k)
        if (params_[k]->trainable) lowest = std::min(lowest, param_layer_[k]);
    for (std::size_t i = layers_.size(); i-- > lowest;) {
        auto& e = layers_[i];
        const Tensor& in = i ? layers_[i - 1].act_view : x;
        const Tensor& dy = (i + 1 == layers_.size()) ? doutput : e.grad_view;
        if (i > lowest) {
            layers_[i - 1].grad_view = layers_[i - 1].grad.rows(0, n);
            e.layer->backward(in, e.act_view, dy, &layers_[i - 1].grad_view);
        } else {
            e.layer->backward(in, e.act_view, dy, nullptr);
        }
        if (observer) observer->gradients_done(i);
    }
}

std::vector<NamedTensor> Sequential::weights() const {
    std::vector<NamedTensor> out;
    for (const Parameter* p : params_) out.push_back({p->name, p->value});
    for (std::size_t i = 0; i < layers_.size(); ++i)
        for (auto& s : layers_[i].layer->state())
            out.push_back({"layer" + std::to_string(i) + "." + s.name, s.value});
    return out;
}

std::vector<NamedTensor> Sequential::layer_weights(std::size_t index) const {
    const std::string prefix = "layer" + std::to_string(index) + ".";
    std::vector<NamedTensor> out;
    for (const Parameter* p : layers_.at(index).layer->parameters())
        out.push_back({p->name, p->value});
    for (auto& s : layers_.at(index).layer->state()) out.push_back({prefix + s.name, s.value});
    return out;
}

void Sequential::set_trainable(std::size_t index, bool trainable) {
    if (index >= layers_.size())
        throw Error("layer " + std::to_string(index) + " does not exist (the model has " +
                    std::to_string(layers_.size()) + " layers)");
    layers_[index].layer->set_trainable(trainable);
}

std::vector<SavedState> Sequential::checkpoint_layers() const {
    std::vector<SavedState> out(layers_.size());
    for (std::size_t i = 0; i < layers_.size(); ++i) layers_[i].layer->checkpoint(out[i]);
    return out;
}

void Sequential::resume_layers(const std::vector<SavedState>& states) {
    if (states.size() != layers_.size())
        throw DataError("the checkpoint holds the state of " + std::to_string(states.size()) +
                        " layers, the model has " + std::to_string(layers_.size()));
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        try {
            layers_[i].layer->resume(states[i]);
        } catch (const Error& e) {
            throw DataError("layer " + std::to_string(i) + " (" + layers_[i].name + "): " +
                            e.what());
        }
    }
}

std::size_t Sequential::parameter_count() const {
    std::size_t n = 0;
    for (const Parameter* p : params_) n += p->value.numel();
    return n;
}

std::string Sequential::summary() const {
    constexpr const char* kRow = "  {:<5} {:<24} {:<18} {:>12}\n";
    std::string out = fmt::format(kRow, "#", "layer", "output", "params");
    out += fmt::format(kRow, "in", "input", batchless(input_shape_), "");
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        std::size_t count = 0;
        for (const Parameter* p : layers_[i].layer->parameters()) count += p->value.numel();
        out += fmt::format(kRow, i, layers_[i].name, batchless(layers_[i].output), count);
    }
    out += fmt::format("  total parameters: {}\n", parameter_count());
    return out;
}

}  // namespace plexus::core
