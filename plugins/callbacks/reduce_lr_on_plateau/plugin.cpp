// Reduce the learning rate on a plateau (Keras' ReduceLROnPlateau): when a monitored value has
// not improved for `patience` epochs, multiply the rate by `factor`, then wait `cooldown`
// epochs before counting again. Training often stalls at a rate that is too high to settle
// into a minimum; a smaller step then helps where a fixed schedule would have to guess when.
#include <algorithm>
#include <limits>
#include <string>

#include "plexus/plexus.hpp"
#include "plexus/support/monitor.hpp"

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

const plexus::ParamSpec kParams[] = {
    plexus::support::monitor_param(),
    {"factor", plexus::ParamType::real, "0.1", 0, 1, nullptr, "new lr = lr * factor",
     plexus::kMinExclusive | plexus::kMaxExclusive},
    {"patience", plexus::ParamType::integer, "10", 0, kInf, nullptr,
     "epochs without improvement before the rate is reduced"},
    {"cooldown", plexus::ParamType::integer, "0", 0, kInf, nullptr,
     "epochs after a reduction during which no waiting is counted"},
    {"min_lr", plexus::ParamType::real, "0", 0, kInf, nullptr,
     "the rate is never reduced below this"},
    {"min_delta", plexus::ParamType::real, "1e-4", 0, kInf, nullptr,
     "an improvement must be larger than this (a change of exactly min_delta does not count)"},
    plexus::support::mode_param(),
};

class ReduceLrOnPlateau final : public plexus::Callback {
public:
    explicit ReduceLrOnPlateau(const plexus::Params& p)
        : monitor_("reduce_lr_on_plateau", p, p.get_real("min_delta")),
          factor_(p.get_real("factor")),
          patience_(static_cast<std::size_t>(p.get_int("patience"))),
          cooldown_(static_cast<std::size_t>(p.get_int("cooldown"))),
          min_lr_(p.get_real("min_lr")) {}

    void on_train_begin(plexus::TrainState&) override {
        best_ = monitor_.worst();
        wait_ = 0;
        cooldown_counter_ = 0;
    }

    // The order of the counters follows Keras exactly: the epoch that ends a cooldown
    // neither counts as waiting nor can trigger a reduction.
    void on_epoch_end(plexus::TrainState& s) override {
        const double current = monitor_.read(s.logs);
        if (cooldown_counter_ > 0) {
            --cooldown_counter_;
            wait_ = 0;
        }
        if (monitor_.improves(current, best_)) {
            best_ = current;
            wait_ = 0;
            return;
        }
        if (cooldown_counter_ > 0) return;
        if (++wait_ < patience_) return;
        const float old_lr = s.learning_rate;
        if (old_lr > static_cast<float>(min_lr_)) {
            s.learning_rate = static_cast<float>(std::max(old_lr * factor_, min_lr_));
            cooldown_counter_ = cooldown_;
            wait_ = 0;
        }
    }

    void checkpoint(plexus::SavedState& out) const override {
        out.set_real("best", best_);
        out.set_count("wait", wait_);
        out.set_count("cooldown_counter", cooldown_counter_);
    }

    void resume(const plexus::SavedState& in) override {
        best_ = in.real("best");
        wait_ = in.count("wait");
        cooldown_counter_ = in.count("cooldown_counter");
    }

private:
    plexus::support::Monitor monitor_;
    double factor_;
    std::size_t patience_;
    std::size_t cooldown_;
    double min_lr_;

    double best_ = 0.0;
    std::size_t wait_ = 0;
    std::size_t cooldown_counter_ = 0;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<ReduceLrOnPlateau>(
    "reduce_lr_on_plateau", "0.1.0",
    "Multiply the learning rate by factor when a monitored value stops improving", kParams))
