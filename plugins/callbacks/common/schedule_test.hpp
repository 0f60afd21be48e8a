// Test support for the schedules' tests: the learning rate each optimizer step used.
#pragma once

#include <string>
#include <vector>

#include "fake_model.hpp"
#include "plexus/testing.hpp"

namespace plexus::callbacks::testing {

/// Drives `spec` through `epochs` epochs of `batches` steps, starting at rate `lr`, the way
/// the trainer calls it, and returns the rate in force at each step.
inline std::vector<float> step_rates(const std::string& spec, std::size_t epochs,
                                     std::size_t batches = 1, float lr = 1.0f) {
    auto cb = plexus::testing::load<Callback>(spec);
    TrainState s = make_state(epochs, nullptr, batches, lr);
    cb->on_train_begin(s);
    std::vector<float> used;
    for (std::size_t e = 0; e < epochs; ++e) {
        s.epoch = e;
        cb->on_epoch_begin(s);
        for (std::size_t b = 0; b < batches; ++b) {
            used.push_back(s.learning_rate);
            ++s.step;
            s.batch = b;
            cb->on_batch_end(s);
        }
        s.logs.set("loss", 1.0);
        s.logs.set("lr", s.learning_rate);
        cb->on_epoch_end(s);
    }
    cb->on_train_end(s);
    return used;
}

}  // namespace plexus::callbacks::testing
