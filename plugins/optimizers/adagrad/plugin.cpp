// Adagrad (Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online Learning and
// Stochastic Optimization", JMLR 2011): each weight's step shrinks with the sum of its
// squared gradients, so rarely-updated (sparse) features keep large steps while frequent
// ones settle. The sum only grows, so the effective rate decays for good — RMSprop and Adam
// replace it with a running mean.
//
//   a ← a + g²;   w ← w − lr · g / (√a + ε)        (a starts at initial_accumulator)
#include "plexus/support/optimizer.hpp"

namespace {

using namespace plexus::support;
using plexus::BinaryOp;
using plexus::ParamSpec;
using plexus::ParamType;
using plexus::UnaryOp;

constexpr ParamSpec kAdagradParams[] = {
    lr_spec("0.01"),
    {"initial_accumulator", ParamType::real, "0.1", 0.0, kInf, nullptr,
     "Starting value of every sum of squared gradients"},
    epsilon_spec("1e-7"),
    kClipnormSpec,
    kClipvalueSpec,
    kFusedSpec,
};

class Adagrad final : public OptimizerBase {
public:
    explicit Adagrad(const plexus::Params& params)
        : OptimizerBase(params, "adagrad"),
          epsilon_(static_cast<float>(params.get_real("epsilon"))) {
        add_slot(kAccumulator, static_cast<float>(params.get_real("initial_accumulator")));
    }

private:
    void update(const Update& u) override {
        plexus::Device& d = device();
        const plexus::Tensor& g = clipped_grad(u);
        const plexus::Tensor& s = u.work;
        const plexus::Tensor& a = u.state[0];
        d.unary(UnaryOp::square, g, s);
        d.axpby(1.0f, s, 1.0f, a);  // a ← a + g²
        d.unary(UnaryOp::sqrt, a, s);
        d.unary(UnaryOp::add_scalar, s, s, epsilon_);
        d.binary(BinaryOp::div, g, s, s);
        d.axpby(-u.lr, s, 1.0f, u.param.value);
    }

    float epsilon_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Adagrad>(
    "adagrad", "0.1.0", "Adagrad: per-weight steps shrinking with the sum of squared gradients",
    kAdagradParams))
