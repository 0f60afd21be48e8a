// Terminate on NaN (Keras' TerminateOnNaN): stops training as soon as the running loss or any
// value logged at an epoch's end is NaN or infinite. Once a loss diverges every later step is
// wasted, and the numbers printed afterwards are noise; the usual cause is a learning rate
// that is too high. The trainer already checks each step's loss by default; this callback
// also covers values the trainer does not check (validation loss, metrics) and works with
// trainers that do not check at all.
#include <cmath>
#include <string>

#include "plexus/plexus.hpp"

namespace {

const char* describe(double v) {
    return std::isnan(v) ? "NaN" : "infinite";
}

class TerminateOnNan final : public plexus::Callback {
public:
    explicit TerminateOnNan(const plexus::Params&) {}

    void on_batch_end(plexus::TrainState& s) override {
        const auto loss = s.batch_logs.get("loss");
        if (!loss || std::isfinite(*loss)) return;
        stop(s, std::string("loss became ") + describe(*loss) + " at epoch " +
                    std::to_string(s.epoch + 1) + " step " + std::to_string(s.batch + 1));
    }

    void on_epoch_end(plexus::TrainState& s) override {
        for (const auto& [name, value] : s.logs.items())
            if (!std::isfinite(value)) {
                stop(s, name + " became " + describe(value) + " at epoch " +
                            std::to_string(s.epoch + 1));
                return;
            }
    }

private:
    // A diverged value is the root cause of anything else that wants to stop, so its reason
    // wins over theirs.
    static void stop(plexus::TrainState& s, const std::string& what) {
        s.stop_training = true;
        s.stop_reason = what + ": lower the learning rate";
    }
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<TerminateOnNan>(
    "terminate_on_nan", "0.1.0",
    "Stop training when the loss or a logged value is NaN or infinite"))
