// Base of the learning-rate schedules (step_decay, exponential_decay, cosine_decay): each is
// a pure function of the starting rate and a position, so a run is reproducible and a
// schedule never compounds rounding from epoch to epoch. Header-only, like monitor.hpp.
#pragma once

#include <cstddef>

#include "plexus/callback.hpp"
#include "plexus/params.hpp"

namespace plexus::callbacks {

/// The `per` parameter of schedules that can move every optimizer step.
constexpr ParamSpec per_param() {
    return {"per",
            ParamType::choice,
            "epoch",
            0,
            0,
            "epoch|step",
            "epoch: set the rate before each epoch; step: before each optimizer step"};
}

class Schedule : public Callback {
public:
    /// Captures the starting rate: the optimizer's lr as the trainer passes it in.
    void on_train_begin(TrainState& state) override {
        initial_ = state.learning_rate;
        batches_ = state.batches;
        epochs_ = state.epochs;
        begin();
    }
    void on_epoch_begin(TrainState& state) override {
        state.learning_rate = rate(per_step_ ? state.step : state.epoch);
    }
    /// state.step counts the steps taken, so this is the rate of the next step.
    void on_batch_end(TrainState& state) override {
        if (per_step_) state.learning_rate = rate(state.step);
    }

protected:
    explicit Schedule(bool per_step) : per_step_(per_step) {}

    /// Called once the run's shape (epochs, batches per epoch) is known.
    virtual void begin() {}
    /// lr / initial lr at position `n` (0-based epoch, or optimizer steps taken).
    virtual double factor(std::size_t n) const = 0;

    bool per_step() const { return per_step_; }
    std::size_t epochs() const { return epochs_; }
    /// Units (epochs or steps) in `epochs` epochs.
    std::size_t units(std::size_t epochs) const { return per_step_ ? epochs * batches_ : epochs; }

private:
    float rate(std::size_t n) const { return static_cast<float>(initial_ * factor(n)); }

    bool per_step_;
    double initial_ = 0.0;
    std::size_t batches_ = 0;
    std::size_t epochs_ = 0;
};

}  // namespace plexus::callbacks
