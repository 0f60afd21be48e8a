// Stochastic gradient descent (Robbins & Monro, 1951), with heavy-ball momentum (Polyak,
// 1964), Nesterov momentum (Sutskever et al., 2013) and L2 weight decay, in PyTorch's form:
//
//   g ← g + wd·w;   b ← μ·b + g;   w ← w − lr·(nesterov ? g + μ·b : b)
//
// The baseline every other optimizer is compared against; with momentum and a tuned
// schedule it is still competitive on many problems.
#include "plexus/support/optimizer.hpp"

namespace {

using namespace plexus::support;
using plexus::kMaxExclusive;
using plexus::ParamSpec;
using plexus::ParamType;

constexpr ParamSpec kSgdParams[] = {
    lr_spec("0.01"),
    {"momentum", ParamType::real, "0", 0.0, 1.0, nullptr,
     "Momentum factor mu: the velocity is mu * velocity + gradient; 0 = plain SGD",
     kMaxExclusive},
    {"nesterov", ParamType::boolean, "false", -kInf, kInf, nullptr,
     "Nesterov momentum: step along gradient + mu * velocity (needs momentum > 0)"},
    {"weight_decay", ParamType::real, "0", 0.0, kInf, nullptr,
     "L2 penalty added to the gradient (g += weight_decay * w), as PyTorch's SGD"},
    kClipnormSpec,
    kClipvalueSpec,
    kFusedSpec,
};

class Sgd final : public OptimizerBase {
public:
    explicit Sgd(const plexus::Params& params)
        : OptimizerBase(params, "sgd"),
          momentum_(static_cast<float>(params.get_real("momentum"))),
          weight_decay_(static_cast<float>(params.get_real("weight_decay"))),
          nesterov_(params.get_bool("nesterov")) {
        if (nesterov_ && momentum_ == 0.0f)
            throw plexus::ParamError(
                "sgd: nesterov=true needs momentum > 0 (e.g. momentum=0.9)");
        if (momentum_ > 0.0f) add_slot(kMomentum);
    }

private:
    void update(const Update& u) override {
        plexus::Device& d = device();
        plexus::Tensor& w = u.param.value;
        // With momentum, one pass over the three arrays.
        if (momentum_ > 0.0f && fused() &&
            d.try_fused(plexus::fused::SgdMomentumUpdate{.grad = u.param.grad,
                                                         .value = w,
                                                         .velocity = u.state[0],
                                                         .lr = u.lr,
                                                         .momentum = momentum_,
                                                         .weight_decay = weight_decay_,
                                                         .nesterov = nesterov_,
                                                         .grad_scale = u.grad_scale,
                                                         .clipvalue = clipvalue()}))
            return;
        const plexus::Tensor& g = clipped_grad(u);
        if (momentum_ == 0.0f) {  // w ← w − lr·(g + wd·w) = (1 − lr·wd)·w − lr·g
            if (weight_decay_ != 0.0f)
                d.unary(plexus::UnaryOp::scale, w, w, 1.0f - u.lr * weight_decay_);
            d.axpby(-u.lr, g, 1.0f, w);
            return;
        }
        const plexus::Tensor& b = u.state[0];
        d.axpby(1.0f, g, momentum_, b);                                 // b ← μ·b + g
        if (weight_decay_ != 0.0f) d.axpby(weight_decay_, w, 1.0f, b);  // b += wd·w
        if (!nesterov_) {
            d.axpby(-u.lr, b, 1.0f, w);
            return;
        }
        // w ← w − lr·(g + wd·w + μ·b), the decay term first while w is still the old w.
        if (weight_decay_ != 0.0f)
            d.unary(plexus::UnaryOp::scale, w, w, 1.0f - u.lr * weight_decay_);
        d.axpby(-u.lr, g, 1.0f, w);
        d.axpby(-u.lr * momentum_, b, 1.0f, w);
    }

    float momentum_, weight_decay_;
    bool nesterov_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Sgd>("sgd", "0.2.0",
                                     "Stochastic gradient descent with momentum, Nesterov and "
                                     "weight decay",
                                     kSgdParams))
