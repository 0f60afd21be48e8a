// Cosine decay with linear warm-up (Loshchilov & Hutter, "SGDR", 2017, without restarts; Goyal
// et al., 2017, for the warm-up): the rate climbs linearly from about zero to the initial rate
// over warmup_epochs, then follows half a cosine down to alpha * initial rate over
// decay_epochs. Warm-up keeps large early gradients from wrecking a freshly initialised
// network (batch norm, large batches); the cosine spends most epochs at moderate rates and
// lands softly.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "plexus/plexus.hpp"
#include "plexus/support/schedule.hpp"

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

const plexus::ParamSpec kParams[] = {
    {"decay_epochs", plexus::ParamType::integer, "0", 0, kInf, nullptr,
     "epochs of the cosine after warm-up; 0: the rest of the run (epochs - warmup_epochs)"},
    {"alpha", plexus::ParamType::real, "0", 0, 1, nullptr,
     "final rate as a fraction of the initial rate"},
    {"warmup_epochs", plexus::ParamType::integer, "0", 0, kInf, nullptr,
     "epochs of linear warm-up before the cosine"},
    plexus::support::schedule_per_param(),
};

class CosineDecay final : public plexus::support::Schedule {
public:
    explicit CosineDecay(const plexus::Params& p)
        : Schedule(p.get_string("per") == "step"),
          decay_epochs_(static_cast<std::size_t>(p.get_int("decay_epochs"))),
          warmup_epochs_(static_cast<std::size_t>(p.get_int("warmup_epochs"))),
          alpha_(p.get_real("alpha")) {}

private:
    void begin() override {
        std::size_t decay = decay_epochs_;
        if (decay == 0) decay = epochs() > warmup_epochs_ ? epochs() - warmup_epochs_ : 1;
        warmup_ = units(warmup_epochs_);
        decay_ = std::max<std::size_t>(units(decay), 1);
    }

    // Warm-up unit n of W uses (n + 1) / (W + 1): never a wasted unit at rate 0, and the
    // first cosine unit is the first at the full rate.
    double factor(std::size_t n) const override {
        if (n < warmup_) return static_cast<double>(n + 1) / static_cast<double>(warmup_ + 1);
        const double progress =
            static_cast<double>(std::min(n - warmup_, decay_)) / static_cast<double>(decay_);
        return alpha_ + (1.0 - alpha_) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
    }

    std::size_t decay_epochs_;
    std::size_t warmup_epochs_;
    double alpha_;
    std::size_t warmup_ = 0;  // in units (epochs or steps)
    std::size_t decay_ = 1;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<CosineDecay>(
    "cosine_decay", "0.1.0", "Cosine learning-rate decay with optional linear warm-up", kParams))
