// RMSprop (Hinton, Coursera "Neural Networks for Machine Learning", lecture 6e, 2012):
// divides each gradient by a running root mean square of its recent values, so every weight
// moves at a similar pace whatever the scale of its gradient. The centered variant (Graves,
// "Generating Sequences With Recurrent Neural Networks", 2013) divides by an estimate of the
// standard deviation instead. PyTorch's form:
//
//   v ← ρ·v + (1−ρ)·g²;  centered: m ← ρ·m + (1−ρ)·g, v̄ = v − m², else v̄ = v
//   q = g / (√v̄ + ε);    momentum: b ← μ·b + q, w ← w − lr·b;  else w ← w − lr·q
#include "plexus/support/optimizer.hpp"

namespace {

using namespace plexus::support;
using plexus::BinaryOp;
using plexus::kMaxExclusive;
using plexus::ParamSpec;
using plexus::ParamType;
using plexus::UnaryOp;

constexpr ParamSpec kRmspropParams[] = {
    lr_spec("0.001"),
    {"rho", ParamType::real, "0.9", 0.0, 1.0, nullptr,
     "Decay rate of the running mean of squared gradients", kMaxExclusive},
    {"momentum", ParamType::real, "0", 0.0, 1.0, nullptr,
     "Momentum factor applied to the normalized step; 0 = none", kMaxExclusive},
    epsilon_spec("1e-7"),
    {"centered", ParamType::boolean, "false", -kInf, kInf, nullptr,
     "Divide by the estimated standard deviation of the gradient (Graves, 2013) instead of "
     "its root mean square"},
    kClipnormSpec,
    kClipvalueSpec,
    kFusedSpec,
};

class Rmsprop final : public OptimizerBase {
public:
    explicit Rmsprop(const plexus::Params& params)
        : OptimizerBase(params, "rmsprop"),
          rho_(static_cast<float>(params.get_real("rho"))),
          momentum_(static_cast<float>(params.get_real("momentum"))),
          epsilon_(static_cast<float>(params.get_real("epsilon"))),
          centered_(params.get_bool("centered")) {
        add_slot(kSecondMoment);
        if (centered_) add_slot(kFirstMoment);
        if (momentum_ > 0.0f) add_slot(kMomentum);
    }

private:
    void update(const Update& u) override {
        plexus::Device& d = device();
        const plexus::Tensor& g = clipped_grad(u);
        const plexus::Tensor& s = u.work;
        const plexus::Tensor& v = u.state[0];
        d.unary(UnaryOp::square, g, s);
        d.axpby(1.0f - rho_, s, rho_, v);  // v ← ρ·v + (1−ρ)·g²
        if (centered_) {
            const plexus::Tensor& m = u.state[1];
            d.axpby(1.0f - rho_, g, rho_, m);  // m ← ρ·m + (1−ρ)·g
            d.unary(UnaryOp::square, m, s);
            d.binary(BinaryOp::sub, v, s, s);
            // v − m² ≥ 0 in exact arithmetic; rounding can make it a hair negative.
            d.unary(UnaryOp::relu, s, s);
            d.unary(UnaryOp::sqrt, s, s);
        } else {
            d.unary(UnaryOp::sqrt, v, s);
        }
        d.unary(UnaryOp::add_scalar, s, s, epsilon_);
        d.binary(BinaryOp::div, g, s, s);  // q = g / (√v̄ + ε)
        if (momentum_ > 0.0f) {
            const plexus::Tensor& b = u.state.back();
            d.axpby(1.0f, s, momentum_, b);
            d.axpby(-u.lr, b, 1.0f, u.param.value);
        } else {
            d.axpby(-u.lr, s, 1.0f, u.param.value);
        }
    }

    float rho_, momentum_, epsilon_;
    bool centered_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Rmsprop>(
    "rmsprop", "0.1.0", "RMSprop: steps scaled by a running RMS of the gradient (Hinton, 2012)",
    kRmspropParams))
