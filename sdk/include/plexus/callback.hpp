// Callback: hooks into the training loop.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "plexus/export.hpp"
#include "plexus/plugin_kind.hpp"
#include "plexus/saved_state.hpp"

namespace plexus {

/// Named values logged during training ("loss", "val_accuracy", "lr", ...), in order.
class Logs {
public:
    void set(const std::string& name, double value) {
        for (auto& [k, v] : items_)
            if (k == name) {
                v = value;
                return;
            }
        items_.emplace_back(name, value);
    }
    std::optional<double> get(const std::string& name) const {
        for (const auto& [k, v] : items_)
            if (k == name) return v;
        return std::nullopt;
    }
    void clear() { items_.clear(); }
    const std::vector<std::pair<std::string, double>>& items() const { return items_; }

private:
    std::vector<std::pair<std::string, double>> items_;
};

/// The trainer's side of callbacks that keep or restore weights (early stopping,
/// checkpoints). Not for use inside a step: these copy between device and host.
class PLEXUS_API ModelAccess {
public:
    virtual ~ModelAccess();
    /// Copies every parameter and state tensor (running statistics, ...) to `out`.
    virtual void snapshot(std::vector<float>& out) = 0;
    /// Restores weights taken by snapshot() of this model.
    virtual void restore(const std::vector<float>& in) = 0;
    /// Writes the weights as a .safetensors file, atomically (temporary file + rename).
    virtual void save(const std::string& path) = 0;
    /// The number of layers of the model (indices 0 .. layer_count() - 1).
    virtual std::size_t layer_count() const = 0;
    /// Layer::set_trainable(trainable) on layer `layer`, between two steps (a fine-tuning
    /// schedule). Throws plexus::Error naming the layer count when `layer` >= layer_count().
    virtual void set_trainable(std::size_t layer, bool trainable) = 0;
};

/// What the trainer shares with callbacks. Callbacks may set stop_training and
/// learning_rate; the trainer honours both before the next batch.
struct TrainState {
    std::size_t epoch = 0;  // 0-based
    std::size_t epochs = 0;
    std::size_t batch = 0;  // 0-based within the epoch
    std::size_t batches = 0;
    std::size_t batch_size = 0;
    std::size_t samples = 0;       // training samples per epoch
    std::size_t samples_done = 0;  // within this epoch
    double epoch_seconds = 0.0;    // since the epoch began
    float learning_rate = 0.0f;
    bool stop_training = false;
    std::string stop_reason;
    Logs batch_logs;  // running "loss" and metrics of this epoch so far
    Logs logs;        // at epoch end: the epoch's train and validation values
    ModelAccess* model = nullptr;  // weights access; valid during fit()
    std::string run_dir;           // the run folder ("" when not writing one)
    std::size_t step = 0;          // optimizer steps since training began
};

class PLEXUS_API Callback {
public:
    using Interface = Callback;
    static constexpr Kind kKind = Kind::callback;

    virtual ~Callback();

    virtual void on_train_begin(TrainState& state);
    virtual void on_epoch_begin(TrainState& state);
    virtual void on_batch_end(TrainState& state);
    /// state.logs holds the epoch's values.
    virtual void on_epoch_end(TrainState& state);
    virtual void on_train_end(TrainState& state);

    /// What the callback has gathered so far (counters, best values, best weights), for the
    /// full-state checkpoint the run takes after every epoch's on_epoch_end. Default: none,
    /// right for a callback whose behaviour depends only on TrainState (schedules, progress).
    virtual void checkpoint(SavedState& out) const;
    /// Called right after on_train_begin when a run resumes: puts back what checkpoint()
    /// saved. Throws plexus::Error when an entry is missing.
    virtual void resume(const SavedState& in);
};

}  // namespace plexus
