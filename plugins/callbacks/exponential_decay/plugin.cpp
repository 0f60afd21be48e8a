// Exponential decay (Keras' ExponentialDecay): lr = initial_lr * decay_rate^(n / decay_steps),
// where n counts epochs or optimizer steps; with staircase the exponent is rounded down, so the
// rate drops in steps every decay_steps units instead of continuously.
#include <cmath>
#include <limits>

#include "plexus/plexus.hpp"
#include "plexus/support/schedule.hpp"

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

const plexus::ParamSpec kParams[] = {
    {"decay_rate", plexus::ParamType::real, "0.9", 0, kInf, nullptr,
     "factor applied every decay_steps units", plexus::kMinExclusive},
    {"decay_steps", plexus::ParamType::integer, "1", 1, kInf, nullptr,
     "units (epochs or steps, see per) over which the rate is multiplied by decay_rate"},
    plexus::support::schedule_per_param(),
    {"staircase", plexus::ParamType::boolean, "false", 0, 0, nullptr,
     "round n / decay_steps down: the rate changes once every decay_steps units"},
};

class ExponentialDecay final : public plexus::support::Schedule {
public:
    explicit ExponentialDecay(const plexus::Params& p)
        : Schedule(p.get_string("per") == "step"),
          decay_rate_(p.get_real("decay_rate")),
          decay_steps_(static_cast<std::size_t>(p.get_int("decay_steps"))),
          staircase_(p.get_bool("staircase")) {}

private:
    double factor(std::size_t n) const override {
        const double exponent = staircase_ ? static_cast<double>(n / decay_steps_)
                                           : static_cast<double>(n) / decay_steps_;
        return std::pow(decay_rate_, exponent);
    }

    double decay_rate_;
    std::size_t decay_steps_;
    bool staircase_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<ExponentialDecay>(
    "exponential_decay", "0.1.0",
    "Multiply the learning rate by decay_rate every decay_steps epochs or steps", kParams))
