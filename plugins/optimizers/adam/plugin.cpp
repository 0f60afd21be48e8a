// adam and adamw, one library: Adam (Kingma & Ba, "Adam: A Method for Stochastic
// Optimization", ICLR 2015) with the AMSGrad variant (Reddi et al., ICLR 2018), and AdamW, the
// same update with decoupled weight decay (Loshchilov & Hutter, "Decoupled Weight Decay
// Regularization", ICLR 2019). The two components differ only in their parameter tables: adam
// has no weight decay, adamw defaults it to 0.01.
//
// Adaptive per-element step sizes from running means of the gradient and its square make
// Adam work with little tuning across very different layers, which is why it is the usual
// first choice for a new network. L2 added to the gradient would be rescaled by those step
// sizes, so heavily-updated weights would barely be regularized; adamw shrinks the weights
// directly, w -= lr·wd·w, which restores the intended decay.
#include <cmath>

#include "plexus/support/optimizer.hpp"

namespace {

using namespace plexus;
using namespace plexus::support;

class Adam : public OptimizerBase {
public:
    Adam(const Params& params, const char* kind)
        : OptimizerBase(params, kind),
          beta1_(static_cast<float>(params.get_real("beta1"))),
          beta2_(static_cast<float>(params.get_real("beta2"))),
          epsilon_(static_cast<float>(params.get_real("epsilon"))),
          weight_decay_(params.has("weight_decay")
                            ? static_cast<float>(params.get_real("weight_decay"))
                            : 0.0f),
          amsgrad_(params.get_bool("amsgrad")) {
        add_slot(kFirstMoment);
        add_slot(kSecondMoment);
        if (amsgrad_) add_slot(kMaxSecondMoment);
    }

protected:
    void update(const Update& u) override {
        // This parameter's own update count: one frozen for the first epochs (transfer
        // learning) has zero moments when unfrozen, and the global count would skip the bias
        // correction they need (steps up to 10x lr until v caught up).
        const auto t = static_cast<double>(u.steps);
        const auto bc1 = static_cast<float>(1.0 - std::pow(static_cast<double>(beta1_), t));
        const auto bc2 = static_cast<float>(1.0 - std::pow(static_cast<double>(beta2_), t));
        Tensor& w = u.param.value;
        Tensor& m = u.state[0];
        Tensor& v = u.state[1];
        // One pass over the five arrays instead of about ten.
        if (fused() &&
            device().try_fused(fused::AdamUpdate{.grad = u.param.grad,
                                                 .value = w,
                                                 .m = m,
                                                 .v = v,
                                                 .v_max = amsgrad_ ? &u.state[2] : nullptr,
                                                 .lr = u.lr,
                                                 .beta1 = beta1_,
                                                 .beta2 = beta2_,
                                                 .epsilon = epsilon_,
                                                 .bias_correction1 = bc1,
                                                 .bias_correction2 = bc2,
                                                 .weight_decay = weight_decay_,
                                                 .grad_scale = u.grad_scale,
                                                 .clipvalue = clipvalue()}))
            return;

        Device& d = device();
        const Tensor& g = clipped_grad(u);
        const Tensor& s = u.work;
        if (weight_decay_ != 0.0f) d.unary(UnaryOp::scale, w, w, 1.0f - u.lr * weight_decay_);
        d.axpby(1.0f - beta1_, g, beta1_, m);  // m = β1·m + (1-β1)·g
        d.unary(UnaryOp::square, g, s);
        d.axpby(1.0f - beta2_, s, beta2_, v);  // v = β2·v + (1-β2)·g²
        const Tensor* v_used = &v;
        if (amsgrad_) {
            d.binary(BinaryOp::max, u.state[2], v, u.state[2]);
            v_used = &u.state[2];
        }
        // w -= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + ε)
        d.unary(UnaryOp::sqrt, *v_used, s);
        d.unary(UnaryOp::scale, s, s, 1.0f / std::sqrt(bc2));
        d.unary(UnaryOp::add_scalar, s, s, epsilon_);
        d.binary(BinaryOp::div, m, s, s);
        d.axpby(-u.lr / bc1, s, 1.0f, w);
    }

private:
    float beta1_, beta2_, epsilon_, weight_decay_;
    bool amsgrad_;
};

// Rows both components share; each adds its own lr/weight_decay rows around them.
constexpr ParamSpec kBeta1Spec = {
    "beta1", ParamType::real, "0.9", 0.0, 1.0, nullptr,
    "Decay rate of the running mean of gradients (first moment)", kMaxExclusive};
constexpr ParamSpec kBeta2Spec = {
    "beta2", ParamType::real, "0.999", 0.0, 1.0, nullptr,
    "Decay rate of the running mean of squared gradients (second moment)", kMaxExclusive};
constexpr ParamSpec kAmsgradSpec = {
    "amsgrad", ParamType::boolean, "false", -kInf, kInf, nullptr,
    "AMSGrad (Reddi et al., 2018): divide by the running maximum of the second moment"};

constexpr ParamSpec kAdamParams[] = {
    lr_spec("0.001"), kBeta1Spec,    kBeta2Spec,     epsilon_spec("1e-7"),
    kAmsgradSpec,     kClipnormSpec, kClipvalueSpec, kFusedSpec,
};

constexpr ParamSpec kAdamwParams[] = {
    lr_spec("0.001"),
    {"weight_decay", ParamType::real, "0.01", 0.0, kInf, nullptr,
     "Decoupled decay: every step first shrinks each weight by lr * weight_decay * weight"},
    kBeta1Spec,
    kBeta2Spec,
    epsilon_spec("1e-7"),
    kAmsgradSpec,
    kClipnormSpec,
    kClipvalueSpec,
    kFusedSpec,
};

// The factories construct from the params alone; the kind names the component in errors.
class AdamComponent final : public Adam {
public:
    explicit AdamComponent(const Params& params) : Adam(params, "adam") {}
};

class AdamwComponent final : public Adam {
public:
    explicit AdamwComponent(const Params& params) : Adam(params, "adamw") {}
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<AdamComponent>(
                  "adam", "0.1.0",
                  "Adam: adaptive moments with bias correction (Kingma & Ba, 2015)", kAdamParams),
              plexus::component<AdamwComponent>(
                  "adamw", "0.1.0", "Adam with decoupled weight decay (Loshchilov & Hutter, 2019)",
                  kAdamwParams))
