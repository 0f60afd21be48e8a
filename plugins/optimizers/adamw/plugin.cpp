// adamw: Adam with decoupled weight decay (Loshchilov & Hutter, "Decoupled Weight Decay
// Regularization", ICLR 2019). L2 added to the gradient is rescaled by Adam's per-element
// step sizes, so heavily-updated weights are barely regularized; shrinking the weights
// directly, w -= lr·wd·w, restores the intended decay. The algorithm is adam's (adam.hpp).
#include "../adam/adam.hpp"

namespace {

using namespace plexus::optimizers;
using namespace plexus::support;

constexpr plexus::ParamSpec kAdamwParams[] = {
    lr_spec("0.001"),
    {"weight_decay", plexus::ParamType::real, "0.01", 0.0, kInf, nullptr,
     "Decoupled decay: every step first shrinks each weight by lr * weight_decay * weight"},
    kBeta1Spec,
    kBeta2Spec,
    epsilon_spec("1e-7"),
    kAmsgradSpec,
    kClipnormSpec,
    kClipvalueSpec,
    kFusedSpec,
};

class AdamwPlugin final : public Adam {
public:
    explicit AdamwPlugin(const plexus::Params& params) : Adam(params, "adamw") {}
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<AdamwPlugin>(
    "adamw", "0.1.0", "Adam with decoupled weight decay (Loshchilov & Hutter, 2019)",
    kAdamwParams))
