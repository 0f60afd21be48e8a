// Test support for the callbacks' tests: a ModelAccess whose "weights" are a host vector the
// test changes per epoch, recording every snapshot, restore and save, plus a driver that
// feeds a callback one synthetic epoch at a time.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "plexus/callback.hpp"

namespace plexus::callbacks::testing {

class FakeModel final : public ModelAccess {
public:
    std::vector<float> weights;
    std::size_t snapshots = 0;
    std::vector<std::vector<float>> restored;  // the argument of every restore()
    std::vector<std::string> saved;            // the path of every save()

    void snapshot(std::vector<float>& out) override {
        ++snapshots;
        out = weights;
    }
    void restore(const std::vector<float>& in) override {
        restored.push_back(in);
        weights = in;
    }
    void save(const std::string& path) override { saved.push_back(path); }
};

/// A TrainState as the trainer fills it, for `epochs` epochs of `batches` batches.
inline TrainState make_state(std::size_t epochs, FakeModel* model = nullptr,
                             std::size_t batches = 1, float lr = 0.1f) {
    TrainState s;
    s.epochs = epochs;
    s.batches = batches;
    s.learning_rate = lr;
    s.model = model;
    return s;
}

/// Runs one epoch through `cb` the way the trainer does: epoch begin, a batch end per batch
/// (advancing state.step), then epoch end with `logs`. Returns state.stop_training.
template <class Cb>
bool run_epoch(Cb& cb, TrainState& s, std::size_t epoch,
               const std::vector<std::pair<std::string, double>>& logs) {
    s.epoch = epoch;
    s.logs.clear();
    cb.on_epoch_begin(s);
    for (std::size_t b = 0; b < s.batches; ++b) {
        ++s.step;
        s.batch = b;
        cb.on_batch_end(s);
    }
    for (const auto& [name, value] : logs) s.logs.set(name, value);
    cb.on_epoch_end(s);
    return s.stop_training;
}

}  // namespace plexus::callbacks::testing
