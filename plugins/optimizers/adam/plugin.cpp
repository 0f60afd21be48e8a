// adam: Adam (Kingma & Ba, 2015) with bias correction and optional AMSGrad. The algorithm
// lives in adam.hpp, shared with adamw; this file is the parameter table and the export.
#include "adam.hpp"

namespace {

using namespace plexus::optimizers;
using namespace plexus::support;

constexpr plexus::ParamSpec kAdamParams[] = {
    lr_spec("0.001"), kBeta1Spec,     kBeta2Spec,     epsilon_spec("1e-7"),
    kAmsgradSpec,     kClipnormSpec,  kClipvalueSpec, kFusedSpec,
};

class AdamPlugin final : public Adam {
public:
    explicit AdamPlugin(const plexus::Params& params) : Adam(params, "adam") {}
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<AdamPlugin>(
    "adam", "0.1.0", "Adam: adaptive moments with bias correction (Kingma & Ba, 2015)",
    kAdamParams))
