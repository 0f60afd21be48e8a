// Stochastic gradient descent (Robbins & Monro, 1951): value -= lr * grad. The baseline
// every other optimizer is compared against, and the one with the least state (none).
#include <limits>

#include "plexus/plexus.hpp"

namespace {

using plexus::ParamSpec;
using plexus::ParamType;

constexpr ParamSpec kSgdParams[] = {
    {"lr", ParamType::real, "0.01", 0.0, std::numeric_limits<double>::infinity(), nullptr,
     "Learning rate (the trainer's starting value; callbacks may change it)",
     plexus::kMinExclusive},
};

class Sgd final : public plexus::Optimizer {
public:
    explicit Sgd(const plexus::Params& params)
        : lr_(static_cast<float>(params.get_real("lr"))) {}

    void build(std::span<plexus::Parameter* const>, plexus::Device&) override {}

    // Uses the lr argument, not lr_: the trainer passes the current, possibly scheduled rate.
    void step(std::span<plexus::Parameter* const> params, float lr) override {
        for (plexus::Parameter* p : params)
            if (p->trainable) p->value.device()->axpby(-lr, p->grad, 1.0f, p->value);
    }

    float learning_rate() const override { return lr_; }

private:
    float lr_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Sgd>("sgd", "0.1.0",
                                     "Stochastic gradient descent: value -= lr * grad",
                                     kSgdParams))
