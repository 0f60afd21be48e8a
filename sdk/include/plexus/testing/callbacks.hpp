// Test helpers for callback plugins: a ModelAccess whose "weights" are a host vector the test
// changes per epoch and which records every snapshot, restore and save; a TrainState as the
// trainer fills it; and drivers that feed a callback one synthetic epoch at a time the way
// the trainer calls it. Header-only; step_rates() needs the loaders of plexus/testing.hpp.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "plexus/callback.hpp"
#include "plexus/testing.hpp"

namespace plexus::testing {

/// A model whose weights are `weights`: snapshot() copies them out, restore() replaces them,
/// save() only records its path. Its layers are `trainable`, one flag each, which
/// set_trainable() changes.
class FakeModel final : public ModelAccess {
public:
    std::vector<float> weights;
    std::size_t snapshots = 0;
    std::vector<std::vector<float>> restored;  // the argument of every restore()
    std::vector<std::string> saved;            // the path of every save()
    std::vector<bool> trainable;               // one per layer

    void snapshot(std::vector<float>& out) override {
        ++snapshots;
        out = weights;
    }
    void restore(const std::vector<float>& in) override {
        restored.push_back(in);
        weights = in;
    }
    void save(const std::string& path) override { saved.push_back(path); }
    std::size_t layer_count() const override { return trainable.size(); }
    void set_trainable(std::size_t layer, bool value) override {
        if (layer >= trainable.size())
            throw Error("FakeModel: no layer " + std::to_string(layer) + " (it has " +
                        std::to_string(trainable.size()) + ")");
        trainable[layer] = value;
    }
};

/// A TrainState as the trainer fills it before training: `epochs` epochs of `batches`
/// batches, starting rate `lr`, and `model` (or none) for callbacks that keep weights.
inline TrainState make_train_state(std::size_t epochs, FakeModel* model = nullptr,
                                   std::size_t batches = 1, float lr = 0.1f) {
    TrainState s;
    s.epochs = epochs;
    s.batches = batches;
    s.learning_rate = lr;
    s.model = model;
    return s;
}

/// Runs epoch `epoch` through `cb` the way the trainer does: epoch begin, a batch end per
/// batch (advancing state.step), then epoch end with `logs`. Returns state.stop_training.
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

/// Loads the callback `spec` (a learning-rate schedule), drives it through `epochs` epochs of
/// `batches` steps starting at rate `lr`, and returns the rate in force at each step.
inline std::vector<float> step_rates(const std::string& spec, std::size_t epochs,
                                     std::size_t batches = 1, float lr = 1.0f) {
    auto cb = load<Callback>(spec);
    TrainState s = make_train_state(epochs, nullptr, batches, lr);
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

}  // namespace plexus::testing
