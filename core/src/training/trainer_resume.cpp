// Full-state checkpoints: what the trainer hands the run after every epoch, and how a resumed
// fit() puts it back so that training continues bit for bit as if it had never stopped.
#include <fmt/format.h>

#include <cmath>
#include <memory>

#include "plexus/core/training/trainer.hpp"
#include "plexus/error.hpp"

namespace plexus::core {
namespace {

HostTensor download(Device& device, const std::string& name, const Tensor& t) {
    HostTensor h{name, t.shape(), std::vector<float>(t.numel())};
    device.download(t, h.values);
    return h;
}

/// Throws DataError unless `saved` has exactly the names and shapes of `live`.
void check_same(const std::vector<NamedTensor>& live, const std::vector<HostTensor>& saved,
                const char* what) {
    if (saved.size() != live.size())
        throw DataError(fmt::format("the checkpoint holds {} {} tensors, this run has {}",
                                    saved.size(), what, live.size()));
    for (std::size_t i = 0; i < live.size(); ++i) {
        const HostTensor& s = saved[i];
        if (s.name != live[i].name || s.shape != live[i].value.shape() ||
            s.values.size() != live[i].value.numel())
            throw DataError(fmt::format("{} tensor {} is '{}' {} in the checkpoint but '{}' {} in "
                                        "this run",
                                        what, i, s.name, s.shape.str(), live[i].name,
                                        live[i].value.shape().str()));
    }
}

std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
    return out;
}

void upload_all(Device& device, const std::vector<NamedTensor>& live,
                const std::vector<HostTensor>& saved) {
    for (std::size_t i = 0; i < live.size(); ++i) device.upload(live[i].value, saved[i].values);
}

}  // namespace

TrainCheckpoint Trainer::checkpoint() {
    TrainCheckpoint c;
    c.epochs_done = history_.rows.size();
    c.step = state_.step;
    c.learning_rate = state_.learning_rate;
    c.stop_training = state_.stop_training;
    c.stop_reason = state_.stop_reason;
    c.history = history_;
    for (const auto& w : model_.weights()) c.weights.push_back(download(device_, w.name, w.value));
    for (const auto& s : optimizer_.state())
        c.optimizer.push_back(download(device_, s.name, s.value));
    c.best_value = best_.value;
    c.best_epoch = best_.epoch;
    c.best_weights = best_.weights;
    c.layers = model_.checkpoint_layers();
    c.callbacks.resize(callbacks_.size());
    for (std::size_t i = 0; i < callbacks_.size(); ++i) callbacks_[i]->checkpoint(c.callbacks[i]);
    return c;
}

void Trainer::resume_from(TrainCheckpoint c) {
    if (!weights_) throw Error("Trainer::resume_from: build() the trainer first");
    resume_.reset();
    if (c.epochs_done == 0) return;  // nothing was trained: start afresh
    if (c.history.rows.size() != c.epochs_done)
        throw DataError(fmt::format("the checkpoint says {} epochs are done but its history has {}",
                                    c.epochs_done, c.history.rows.size()));
    for (const auto& row : c.history.rows)
        if (row.size() != c.history.columns.size())
            throw DataError("the checkpoint's history has a row of the wrong width");
    check_same(model_.weights(), c.weights, "model");
    check_same(optimizer_.state(), c.optimizer, "optimizer");
    std::size_t total = 0;
    for (const auto& w : model_.weights()) total += w.value.numel();
    if (!c.best_weights.empty() && c.best_weights.size() != total)
        throw DataError(fmt::format("the checkpoint's best weights hold {} values, the model {}",
                                    c.best_weights.size(), total));
    if (c.best_epoch > c.epochs_done || (c.best_epoch > 0) != !c.best_weights.empty())
        throw DataError(fmt::format("the checkpoint's best epoch {} does not fit its {} epochs",
                                    c.best_epoch, c.epochs_done));
    if (c.layers.size() != model_.size() || c.callbacks.size() != callbacks_.size())
        throw DataError(fmt::format(
            "the checkpoint holds the state of {} layers and {} callbacks, this run has {} and {}",
            c.layers.size(), c.callbacks.size(), model_.size(), callbacks_.size()));
    if (!(c.learning_rate >= 0.0f) || !std::isfinite(c.learning_rate))
        throw DataError("the checkpoint's learning rate is not a finite, non-negative number");
    resume_ = std::make_unique<TrainCheckpoint>(std::move(c));
}

std::size_t Trainer::apply_resume() {
    if (!resume_) return 0;
    const std::unique_ptr<TrainCheckpoint> c = std::move(resume_);
    if (c->history.columns != history_.columns)
        throw DataError("the checkpoint logged the columns '" + joined(c->history.columns) +
                        "' but this run logs '" + joined(history_.columns) + "'");
    upload_all(device_, model_.weights(), c->weights);
    // state() hands out the live tensors; the optimizer re-reads its step count from them.
    upload_all(device_, optimizer_.state(), c->optimizer);
    model_.resume_layers(c->layers);
    for (std::size_t i = 0; i < callbacks_.size(); ++i) {
        try {
            callbacks_[i]->resume(c->callbacks[i]);
        } catch (const Error& e) {
            throw DataError("callback " + std::to_string(i + 1) + ": " + e.what());
        }
    }
    state_.epoch = c->epochs_done - 1;
    state_.step = c->step;
    state_.learning_rate = c->learning_rate;
    state_.stop_training = c->stop_training;
    state_.stop_reason = c->stop_reason;
    best_.value = c->best_value;
    best_.epoch = c->best_epoch;
    best_.weights = c->best_weights;
    history_ = c->history;
    // The data order of an epoch builds on the one before it.
    for (std::size_t epoch = 0; epoch < c->epochs_done; ++epoch) shuffle_for_epoch(epoch);
    return c->epochs_done;
}

}  // namespace plexus::core
