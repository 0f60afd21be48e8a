// Everything a training run needs to continue exactly where it was at the end of an epoch:
// what Trainer::checkpoint() gives and Trainer::resume_from() takes. The run folder stores it
// (run/checkpoint_file.cpp); this layer knows no file format.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "plexus/core/data/host_tensor.hpp"
#include "plexus/core/training/history.hpp"
#include "plexus/saved_state.hpp"

#pragma GCC visibility push(default)

namespace plexus::core {

struct TrainCheckpoint {
    /// Completed epochs (history.rows.size()); 0: nothing trained yet, a resume starts afresh
    /// and every other field is ignored.
    std::size_t epochs_done = 0;
    std::size_t step = 0;  // optimizer steps taken
    float learning_rate = 0.0f;
    bool stop_training = false;  // a callback asked to stop (the run only has to finish)
    std::string stop_reason;
    History history;
    std::vector<HostTensor> weights;    // Sequential::weights(), in that order
    std::vector<HostTensor> optimizer;  // Optimizer::state(), in that order
    // The trainer's own best epoch, whose weights the run keeps.
    double best_value = 0.0;
    std::size_t best_epoch = 0;  // 1-based; 0: none yet
    std::vector<float> best_weights;
    std::vector<SavedState> layers;     // Layer::checkpoint(), one per layer
    std::vector<SavedState> callbacks;  // Callback::checkpoint(), one per callback
};

}  // namespace plexus::core

#pragma GCC visibility pop
