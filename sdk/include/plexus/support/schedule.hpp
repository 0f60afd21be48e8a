// Base of learning-rate schedules (step_decay, exponential_decay, cosine_decay): a schedule
// is a pure function of the starting rate and a position (epoch, or optimizer steps taken),
// so a run is reproducible, resumes exactly, and never compounds rounding from epoch to epoch.
#pragma once

#include <cstddef>

#include "plexus/callback.hpp"
#include "plexus/export.hpp"
#include "plexus/params.hpp"

namespace plexus::support {

/// The `per` parameter of schedules that can move every optimizer step.
constexpr ParamSpec schedule_per_param() {
    return {"per",
            ParamType::choice,
            "epoch",
            0,
            0,
            "epoch|step",
            "epoch: set the rate before each epoch; step: before each optimizer step"};
}

/// A callback that sets state.learning_rate to initial lr × factor(position) before each
/// epoch, or before each step when built per step. A subclass implements factor().
class PLEXUS_API Schedule : public Callback {
public:
    /// Captures the starting rate (the optimizer's lr as the trainer passes it in) and the
    /// run's shape, then calls begin().
    void on_train_begin(TrainState& state) override;
    /// Sets the rate of the epoch's first step.
    void on_epoch_begin(TrainState& state) override;
    /// Per step: sets the rate of the next step (state.step counts the steps taken).
    void on_batch_end(TrainState& state) override;

protected:
    /// `per_step`: the position is optimizer steps taken, not epochs.
    explicit Schedule(bool per_step) : per_step_(per_step) {}

    /// Called once the run's shape (epochs, batches per epoch) is known.
    virtual void begin();
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

}  // namespace plexus::support
