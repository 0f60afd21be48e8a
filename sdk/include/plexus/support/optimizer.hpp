// The base every optimizer plugin derives from, written once: the parameter rows they all
// accept (lr, epsilon, clipnorm, clipvalue, fused), gradient clipping, the per-parameter state
// and its checkpoint names, and the shared workspaces. Header-only, so an out-of-tree
// optimizer builds against an installed SDK exactly like ours.
//
//   class Lion final : public plexus::support::OptimizerBase {
//   public:
//       explicit Lion(const plexus::Params& p) : OptimizerBase(p, "lion") { add_slot("m"); }
//   private:
//       void update(const Update& u) override { ... device() primitives on u.param ... }
//   };
//
// A spec table using it lists lr_spec(...), kClipnormSpec, kClipvalueSpec and kFusedSpec.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"

namespace plexus::support {

inline constexpr double kInf = std::numeric_limits<double>::infinity();

// ---- parameter rows shared by every optimizer's spec table

constexpr ParamSpec lr_spec(const char* default_value) {
    return {"lr", ParamType::real, default_value, 0.0, kInf, nullptr,
            "Learning rate (the trainer's starting value; callbacks may change it)",
            kMinExclusive};
}
constexpr ParamSpec epsilon_spec(const char* default_value) {
    return {"epsilon", ParamType::real, default_value, 0.0, kInf, nullptr,
            "Added to the square root in the denominator, for numerical stability",
            kMinExclusive};
}
inline constexpr ParamSpec kClipnormSpec = {
    "clipnorm", ParamType::real, "0", 0.0, kInf, nullptr,
    "Rescale each parameter's gradient to at most this L2 norm (per tensor, as Keras' "
    "clipnorm); 0 = off. Costs one device sync per parameter per step"};
inline constexpr ParamSpec kClipvalueSpec = {
    "clipvalue", ParamType::real, "0", 0.0, kInf, nullptr,
    "Clamp every gradient element to [-clipvalue, clipvalue] (after clipnorm); 0 = off"};
inline constexpr ParamSpec kFusedSpec = {
    "fused", ParamType::boolean, "true", -kInf, kInf, nullptr,
    "Use the device's fused update kernel when it has one; false forces the primitive "
    "reference path (for testing devices)"};

// ---- state names in checkpoints: "step", then "<parameter name>.<slot>"

inline constexpr const char* kStepName = "step";
// "<parameter name>.steps": how many updates that parameter has had (fewer than "step" when it
// was frozen for a while); Adam's bias correction counts these, as PyTorch's per-parameter step.
inline constexpr const char* kParamSteps = "steps";
inline constexpr const char* kFirstMoment = "m";            // mean of gradients
inline constexpr const char* kSecondMoment = "v";           // mean of squared gradients
inline constexpr const char* kMaxSecondMoment = "v_max";    // AMSGrad's running maximum of v
inline constexpr const char* kMomentum = "momentum";        // velocity / momentum buffer
inline constexpr const char* kAccumulator = "accumulator";  // Adagrad's sum of squares

/// Implements Optimizer's build/step/state for optimizers whose update is one parameter at a
/// time. A subclass declares its state slots in its constructor (add_slot) and implements
/// update(). Requires the params to carry "lr", "clipnorm", "clipvalue" and "fused".
class OptimizerBase : public Optimizer {
public:
    /// `kind` names the optimizer in error messages.
    OptimizerBase(const Params& params, const char* kind)
        : kind_(kind),
          lr_(static_cast<float>(params.get_real("lr"))),
          clipnorm_(static_cast<float>(params.get_real("clipnorm"))),
          clipvalue_(static_cast<float>(params.get_real("clipvalue"))),
          fused_(params.get_bool("fused")) {}

    // State is kept for frozen parameters too, so unfreezing one later needs no allocation.
    void build(std::span<Parameter* const> params, Device& device) final {
        device_ = &device;
        names_.clear();
        state_.assign(params.size(), {});
        updates_.assign(params.size(), 0);
        updates_tensor_.assign(params.size(), {});
        work_.assign(params.size(), {});
        clipped_.assign(params.size(), {});
        std::size_t widest = 0;
        for (const Parameter* p : params) widest = std::max(widest, p->value.numel());
        // One workspace (two with clipping) as wide as the widest parameter, shared by all:
        // step() handles one parameter at a time.
        const Tensor work = device.alloc({widest});
        const Tensor clip = clipping() ? device.alloc({widest}) : Tensor{};
        if (clipnorm_ > 0.0f) norm_ = device.alloc({1});
        step_tensor_ = device.alloc({1});
        device.fill(step_tensor_, 0.0f);
        for (std::size_t i = 0; i < params.size(); ++i) {
            const Parameter& p = *params[i];
            names_.push_back(p.name);
            const Shape& shape = p.value.shape();
            for (const Slot& slot : slots_) {
                state_[i].push_back(device.alloc(shape));
                device.fill(state_[i].back(), slot.initial);
            }
            updates_tensor_[i] = device.alloc({1});
            device.fill(updates_tensor_[i], 0.0f);
            work_[i] = work.rows(0, shape.numel()).reshaped(shape);
            if (clipping()) clipped_[i] = clip.rows(0, shape.numel()).reshaped(shape);
        }
        step_ = 0;
        reload_step_ = false;
    }

    void step(std::span<Parameter* const> params, float lr) final {
        if (!device_ || params.size() != state_.size()) [[unlikely]]
            throw Error(std::string(kind_) + ": step() got " + std::to_string(params.size()) +
                        " parameters but build() " +
                        (device_ ? "got " + std::to_string(state_.size()) : "was not called") +
                        "; build the optimizer with the parameters it will update");
        // state() hands out the tensors, so a checkpoint may have been loaded into them.
        if (reload_step_) [[unlikely]] {
            step_ = static_cast<std::int64_t>(device_->download_scalar(step_tensor_));
            for (std::size_t i = 0; i < updates_.size(); ++i)
                updates_[i] =
                    static_cast<std::int64_t>(device_->download_scalar(updates_tensor_[i]));
            reload_step_ = false;
        }
        ++step_;
        device_->fill(step_tensor_, static_cast<float>(step_));
        for (std::size_t i = 0; i < params.size(); ++i) {
            Parameter& p = *params[i];
            if (!p.trainable) continue;
            if (p.grad.numel() != p.value.numel() ||
                p.value.numel() != work_[i].numel()) [[unlikely]]
                throw Error(std::string(kind_) + ": parameter '" + p.name +
                            "' changed shape since build(); rebuild the optimizer");
            ++updates_[i];
            update(Update{p, state_[i], work_[i], clipped_[i], lr, grad_scale(p.grad, i),
                          updates_[i]});
        }
    }

    float learning_rate() const override { return lr_; }

    // "step" (one element, the number of steps taken, exact up to 2^24), then for every
    // parameter "<parameter>.steps" (its own update count) and "<parameter>.<slot>" for every
    // slot. The tensors are the live state: writing into them (a checkpoint restore) is picked
    // up by the next step().
    std::vector<NamedTensor> state() override {
        std::vector<NamedTensor> out;
        if (!device_) return out;
        out.push_back({kStepName, step_tensor_});
        for (std::size_t i = 0; i < names_.size(); ++i) {
            device_->fill(updates_tensor_[i], static_cast<float>(updates_[i]));
            out.push_back({names_[i] + "." + kParamSteps, updates_tensor_[i]});
            for (std::size_t k = 0; k < slots_.size(); ++k)
                out.push_back({names_[i] + "." + slots_[k].name, state_[i][k]});
        }
        reload_step_ = true;
        return out;
    }

protected:
    /// Everything update() needs for one trainable parameter.
    struct Update {
        Parameter& param;
        std::vector<Tensor>& state;  // one tensor per slot, in add_slot order
        const Tensor& work;                // scratch shaped like the parameter
        const Tensor& clipped;             // scratch for the clipped gradient (when clipping)
        float lr;
        float grad_scale;  // clipnorm's factor for this gradient (1 when not clipping)
        /// Updates of this parameter, this one included: steps() less the steps it was frozen
        /// for. Bias corrections count these, so a layer unfrozen late starts as at step 1.
        std::int64_t steps;
    };

    /// Declares a state tensor per parameter, filled with `initial` at build(); call it from
    /// the constructor. The state is checkpointed as "<parameter>.<name>".
    void add_slot(const char* name, float initial = 0.0f) { slots_.push_back({name, initial}); }

    /// Updates u.param.value (and u.state) from u.param.grad at learning rate u.lr; called by
    /// step() for each trainable parameter. Must not allocate.
    virtual void update(const Update& u) = 0;

    /// The device given to build().
    Device& device() const { return *device_; }
    /// Steps taken, this one included (1 in the first update).
    std::int64_t steps() const { return step_; }
    /// Whether the subclass may offer the step to the device as a fused kernel
    /// (Device::try_fused); false ("fused=false") forces its primitive path.
    bool fused() const { return fused_; }
    float clipvalue() const { return clipvalue_; }

    /// The gradient after clipping, for the primitive path: p.grad itself when no clipping is
    /// configured, else the clipped copy. Fused kernels take u.grad_scale and clipvalue()
    /// instead.
    const Tensor& clipped_grad(const Update& u) const {
        if (!clipping()) return u.param.grad;
        const Tensor* g = &u.param.grad;
        if (u.grad_scale != 1.0f) {
            device_->unary(UnaryOp::scale, *g, u.clipped, u.grad_scale);
            g = &u.clipped;
        }
        if (clipvalue_ > 0.0f) {
            device_->unary(UnaryOp::clip, *g, u.clipped, clipvalue_);
            g = &u.clipped;
        }
        return *g;
    }

private:
    struct Slot {
        const char* name;
        float initial;
    };

    bool clipping() const { return clipnorm_ > 0.0f || clipvalue_ > 0.0f; }

    // min(1, clipnorm / ||g||): a download per parameter, the price of per-tensor norms.
    float grad_scale(const Tensor& grad, std::size_t i) {
        if (clipnorm_ <= 0.0f) return 1.0f;
        device_->unary(UnaryOp::square, grad, work_[i]);
        device_->reduce(ReduceOp::sum, work_[i], Axis::all, norm_);
        const float norm = std::sqrt(device_->download_scalar(norm_));
        return norm > clipnorm_ ? clipnorm_ / norm : 1.0f;
    }

    const char* kind_;
    float lr_, clipnorm_, clipvalue_;
    bool fused_;
    std::vector<Slot> slots_;

    Device* device_ = nullptr;
    std::vector<std::string> names_;
    std::vector<std::vector<Tensor>> state_;  // [parameter][slot]
    std::vector<std::int64_t> updates_;       // per parameter: Update::steps
    std::vector<Tensor> updates_tensor_;      // the same, one element each, for state()
    std::vector<Tensor> work_, clipped_;      // per-parameter views of the shared workspaces
    Tensor norm_, step_tensor_;
    std::int64_t step_ = 0;
    bool reload_step_ = false;
};

}  // namespace plexus::support
