#include "plexus/support/schedule.hpp"

namespace plexus::support {

void Schedule::on_train_begin(TrainState& state) {
    initial_ = state.learning_rate;
    batches_ = state.batches;
    epochs_ = state.epochs;
    begin();
}

void Schedule::on_epoch_begin(TrainState& state) {
    state.learning_rate = rate(per_step_ ? state.step : state.epoch);
}

void Schedule::on_batch_end(TrainState& state) {
    if (per_step_) state.learning_rate = rate(state.step);
}

void Schedule::begin() {}

}  // namespace plexus::support
