// Early stopping (Prechelt, "Early Stopping — But When?", 1998; Keras' EarlyStopping): stops
// training once a monitored value has not improved for `patience` epochs and, by default,
// puts back the weights of the best epoch — a model that stopped early should be the best
// one seen, not the last one.
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/support/monitor.hpp"

namespace {

using plexus::support::Monitor;

constexpr double kInf = std::numeric_limits<double>::infinity();

const plexus::ParamSpec kParams[] = {
    plexus::support::monitor_param(),
    plexus::support::mode_param(),
    {"min_delta", plexus::ParamType::real, "0", 0, kInf, nullptr,
     "an improvement must be larger than this (a change of exactly min_delta does not count)"},
    {"patience", plexus::ParamType::integer, "0", 0, kInf, nullptr,
     "epochs without improvement before stopping"},
    {"baseline", plexus::ParamType::string, "", 0, 0, nullptr,
     "optional value to beat: patience runs out unless the monitor gets better than it"},
    {"start_from_epoch", plexus::ParamType::integer, "0", 0, kInf, nullptr,
     "warm-up epochs that are not monitored"},
    {"restore_best", plexus::ParamType::boolean, "true", 0, 0, nullptr,
     "at the end, put back the weights of the best epoch"},
};

std::optional<double> parse_baseline(const std::string& text) {
    if (text.empty()) return std::nullopt;
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0' || !std::isfinite(value))
        throw plexus::ParamError("early_stopping: baseline must be a number, got '" + text + "'");
    return value;
}

std::string number(double v) {
    return fmt::format("{:.4g}", v);
}

class EarlyStopping final : public plexus::Callback {
public:
    explicit EarlyStopping(const plexus::Params& p)
        : monitor_("early_stopping", p, p.get_real("min_delta")),
          patience_(static_cast<std::size_t>(p.get_int("patience"))),
          baseline_(parse_baseline(p.get_string("baseline"))),
          start_from_epoch_(static_cast<std::size_t>(p.get_int("start_from_epoch"))),
          restore_best_(p.get_bool("restore_best")) {}

    void on_train_begin(plexus::TrainState& s) override {
        if (restore_best_ && !s.model)
            throw plexus::Error(
                "early_stopping: restore_best=true needs access to the model's weights, which "
                "this trainer does not give (TrainState.model is null); set restore_best=false");
        model_ = s.model;
        wait_ = 0;
        best_ = monitor_.worst();
        best_epoch_ = 0;
        stopped_ = false;
        epoch_open_ = false;
        last_ended_.reset();
        best_weights_.clear();
        have_weights_ = false;
    }

    void on_epoch_begin(plexus::TrainState&) override { epoch_open_ = true; }

    void on_epoch_end(plexus::TrainState& s) override {
        epoch_open_ = false;
        last_ended_ = s.epoch;
        const double current = monitor_.read(s.logs);  // a typo fails now, even in warm-up
        if (s.epoch < start_from_epoch_) return;

        ++wait_;
        const bool improved = monitor_.improves(current, best_);
        if (improved) {
            best_ = current;
            best_epoch_ = s.epoch;
        }
        // The first monitored epoch is kept even when its value is NaN, as Keras does.
        if (restore_best_ && (improved || !have_weights_)) {
            if (!have_weights_) best_epoch_ = s.epoch;
            model_->snapshot(best_weights_);
            have_weights_ = true;
        }
        if (improved) {
            // Only a value that also beats the baseline restarts the patience.
            if (!baseline_ || monitor_.improves(current, *baseline_)) wait_ = 0;
            return;
        }
        if (wait_ >= patience_ && s.epoch > 0) {
            stopped_ = true;
            s.stop_training = true;
            s.stop_reason = reason(s.epoch);
        }
    }

    void on_train_end(plexus::TrainState&) override {
        if (!restore_best_ || !have_weights_) return;
        // Nothing to do when the weights in hand are the best epoch's: the run ended right
        // after it. An epoch that began and did not end (NaN, Ctrl-C) changed them.
        const bool current_is_best = !epoch_open_ && last_ended_ && *last_ended_ == best_epoch_;
        if (!current_is_best) {
            model_->restore(best_weights_);
            if (!stopped_)
                fmt::print(
                    "early_stopping: restored the weights of epoch {} ({} {}), the best of "
                    "this run\n",
                    best_epoch_ + 1, monitor_.name(), number(best_));
        }
        best_weights_ = {};
        have_weights_ = false;
    }

    void checkpoint(plexus::SavedState& out) const override {
        out.set_count("wait", wait_);
        out.set_real("best", best_);
        out.set_count("best_epoch", best_epoch_);
        out.set_count("stopped", stopped_);
        out.set_count("epoch_open", epoch_open_);
        // last_ended_ + 1, so 0 stands for "no epoch ended yet".
        out.set_count("last_ended", last_ended_ ? *last_ended_ + 1 : 0);
        out.set_count("have_weights", have_weights_);
        out.set_floats("best_weights", best_weights_);
    }

    void resume(const plexus::SavedState& in) override {
        wait_ = in.count("wait");
        best_ = in.real("best");
        best_epoch_ = in.count("best_epoch");
        stopped_ = in.count("stopped") != 0;
        epoch_open_ = in.count("epoch_open") != 0;
        const std::uint64_t last = in.count("last_ended");
        last_ended_.reset();
        if (last > 0) last_ended_ = last - 1;
        have_weights_ = in.count("have_weights") != 0;
        best_weights_ = in.floats("best_weights");
    }

private:
    std::string reason(std::size_t epoch) const {
        std::string why;
        const std::string epochs = std::to_string(wait_) + (wait_ == 1 ? " epoch" : " epochs");
        if (baseline_ && !monitor_.improves(best_, *baseline_))
            why =
                monitor_.name() + " did not beat baseline=" + number(*baseline_) + " in " + epochs;
        else if (monitor_.min_delta() > 0)
            why = monitor_.name() +
                  " did not improve by more than min_delta=" + number(monitor_.min_delta()) +
                  " for " + epochs;
        else
            why = monitor_.name() + " did not improve for " + epochs;
        std::string out = "early stopping at epoch " + std::to_string(epoch + 1) + ": " + why +
                          " (best " + number(best_) + " at epoch " +
                          std::to_string(best_epoch_ + 1) + ")";
        if (!restore_best_) return out + "; kept the last epoch's weights (restore_best=false)";
        if (best_epoch_ == epoch) return out;
        return out + "; restored the weights of epoch " + std::to_string(best_epoch_ + 1);
    }

    Monitor monitor_;
    std::size_t patience_;
    std::optional<double> baseline_;
    std::size_t start_from_epoch_;
    bool restore_best_;

    plexus::ModelAccess* model_ = nullptr;
    std::size_t wait_ = 0;
    double best_ = 0.0;
    std::size_t best_epoch_ = 0;  // 0-based
    bool stopped_ = false;
    bool epoch_open_ = false;
    std::optional<std::size_t> last_ended_;
    std::vector<float> best_weights_;
    bool have_weights_ = false;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<EarlyStopping>(
    "early_stopping", "0.1.0",
    "Stop when a monitored value stops improving; restore the best epoch's weights", kParams))
