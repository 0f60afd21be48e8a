// The training loop: a seeded shuffle per epoch, mini-batches uploaded once, forward, loss,
// backward and optimizer step on the device, per-epoch train and validation values, and how
// training ended.
#include "plexus/core/training/trainer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <random>

#include "plexus/core/data/batch_loader.hpp"
#include "plexus/core/training/inference.hpp"
#include "plexus/core/training/interrupt.hpp"
#include "plexus/error.hpp"
#include "plexus/support/files.hpp"
#include "steady_seconds.hpp"

namespace plexus::core {

using timing::Clock;
using timing::seconds_since;

double Trainer::regularize(bool add_gradients) {
    // Keras convention: penalty = l1·Σ|w| + l2·Σw², gradient l1·sign(w) + 2·l2·w.
    device_.fill(penalty_sums_, 0.0f);
    for (std::size_t i = 0; i < regularized_.size(); ++i) {
        auto& r = regularized_[i];
        const Parameter& p = *r.param;
        if (p.l2 > 0.0f) {
            device_.unary(UnaryOp::square, p.value, r.work);
            device_.reduce(ReduceOp::sum, r.work, Axis::all, penalty_sums_.rows(2 * i, 1));
            if (p.trainable && add_gradients) device_.axpby(2.0f * p.l2, p.value, 1.0f, p.grad);
        }
        if (p.l1 > 0.0f) {
            device_.unary(UnaryOp::abs, p.value, r.work);
            device_.reduce(ReduceOp::sum, r.work, Axis::all, penalty_sums_.rows(2 * i + 1, 1));
            if (p.trainable && add_gradients) {
                device_.unary(UnaryOp::sign, p.value, r.work);
                device_.axpby(p.l1, r.work, 1.0f, p.grad);
            }
        }
    }
    device_.download(penalty_sums_, penalty_host_);
    double penalty = 0.0;
    for (std::size_t i = 0; i < regularized_.size(); ++i)
        penalty += static_cast<double>(regularized_[i].param->l2) * penalty_host_[2 * i] +
                   static_cast<double>(regularized_[i].param->l1) * penalty_host_[2 * i + 1];
    return penalty;
}

void Trainer::update_metrics(const std::vector<std::shared_ptr<Metric>>& metrics,
                             const Tensor& y, const Tensor& t, const float* base) {
    if (metrics.empty()) return;
    const auto [yu, tu] = units_.to_units(y, t, base);
    for (auto& m : metrics) m->update(yu, tu);
}

void Trainer::upload(const PreparedBatch& batch) {
    device_.upload(x_.rows(0, batch.rows), std::span<const float>(batch.x, batch.rows * features_));
    device_.upload(t_.rows(0, batch.rows),
                   std::span<const float>(batch.t, batch.rows * target_cols_));
}

struct Trainer::EpochSums {
    double loss = 0.0, penalty = 0.0;  // summed over samples
    std::size_t seen = 0;              // 0: the epoch is not reported
};

History Trainer::fit(const Subset& train, const Subset& validation,
                     const std::function<void(const History&)>& on_epoch) {
    history_ = empty_history(validation.size() > 0);
    state_ = TrainState{};
    best_ = Best{};
    best_.key = validation.size() ? "val_loss" : "loss";
    best_.value = std::numeric_limits<double>::infinity();
    order_ = train;
    stop_reason_.clear();
    ended_ = "completed";
    double train_seconds = 0.0;
    std::size_t trained_samples = 0, epochs_done = 0;
    try {
        begin_training(train, state_);
        const std::size_t first = apply_resume();
        share_weights();
        for (std::size_t epoch = first; epoch < options_.epochs && !state_.stop_training;
             ++epoch) {
            state_.epoch = epoch;
            // A signal during the last epoch's validation or outputs stops here, before any
            // step of this one.
            bool interrupted = interrupt_requested();
            agree_to_stop(state_, interrupted);
            if (interrupted) {
                stop_for_signal(false);
                break;
            }
            state_.logs.clear();
            state_.batch_logs.clear();
            shuffle_for_epoch(epoch);
            for (auto& c : callbacks_) c->on_epoch_begin(state_);
            for (auto& m : metrics_) m->reset();

            const auto t0 = Clock::now();
            const EpochSums sums = train_epoch(order_, state_, best_);
            const double seconds = seconds_since(t0);
            if (sums.seen == 0) break;
            train_seconds += seconds;
            trained_samples += sums.seen;
            ++epochs_done;
            end_epoch(sums, seconds, validation, state_, history_, best_);
            if (on_epoch) on_epoch(history_);
        }
    } catch (const std::exception& e) {
        stop_reason_ = e.what();
        ended_ = "failed";
        throw;
    }
    samples_per_second_ = train_seconds > 0 ? trained_samples / train_seconds : 0.0;
    reduce_cost_.train_seconds = train_seconds;
    seconds_per_epoch_ = epochs_done ? train_seconds / epochs_done : 0.0;
    finish_training();
    return history_;
}

void Trainer::finish_training() {
    stop_reason_ = state_.stop_reason;
    // A callback's stop over a value that became NaN (terminate_on_nan) is a divergence too.
    if (ended_ == "completed" && state_.stop_training)
        ended_ = stop_reason_.find(" became NaN") != std::string::npos ||
                         stop_reason_.find(" became infinite") != std::string::npos
                     ? "diverged"
                     : "stopped";
    keep_best(best_, history_.rows.size());
    for (auto& c : callbacks_) c->on_train_end(state_);
}

void Trainer::shuffle_for_epoch(std::size_t epoch) {
    std::mt19937_64 rng(options_.seed * 6364136223846793005ULL + epoch + 1);
    std::shuffle(order_.indices.begin(), order_.indices.end(), rng);
}

void Trainer::stop_for_signal(bool during) {
    const bool term = interrupt_signal() == SIGTERM;
    state_.stop_training = true;
    ended_ = term ? "terminated" : "interrupted";
    const std::string who = term ? "terminated (SIGTERM)" : "interrupted (Ctrl-C)";
    const std::size_t epoch = state_.epoch + 1;
    if (during)
        state_.stop_reason = fmt::format(
            "{} during epoch {}; the weights include its completed steps", who, epoch);
    else if (epoch == 1)
        state_.stop_reason = who + " before the first epoch";
    else
        state_.stop_reason = fmt::format("{} after epoch {}", who, epoch - 1);
}

History Trainer::empty_history(bool validation) const {
    History history;
    history.columns = {"epoch", "loss"};
    if (!regularized_.empty()) history.columns.push_back("reg_loss");
    for (auto& m : metrics_) {
        m->reset();
        for (const auto& [name, value] : m->result()) history.columns.push_back(name);
    }
    if (validation) {
        history.columns.push_back("val_loss");
        for (auto& m : metrics_)
            for (const auto& [name, value] : m->result()) history.columns.push_back("val_" + name);
    }
    history.columns.push_back("lr");
    history.columns.push_back("seconds");
    return history;
}

void Trainer::begin_training(const Subset& train, TrainState& state) {
    const std::size_t b = options_.batch_size;
    state.epochs = options_.epochs;
    state.batch_size = b;
    state.samples = train.size();
    state.batches = (train.size() + b - 1) / b;
    state.learning_rate = optimizer_.learning_rate();
    state.model = weights_ ? &weights() : nullptr;
    state.run_dir = options_.run_dir;
    for (auto& c : callbacks_) c->on_train_begin(state);
}

Trainer::EpochSums Trainer::train_epoch(const Subset& order, TrainState& state, Best& best) {
    const std::size_t b = options_.batch_size;
    const auto t0 = Clock::now();
    EpochSums sums;
    BatchLoader& loader = step_loader();
    loader.start(rank_order(order), Mode::train, state.epoch);
    for (std::size_t batch = 0; batch < state.batches; ++batch) {
        const std::size_t begin = batch * b, n = std::min(b, order.size() - begin);
        // A trailing batch of one sample has no batch statistics (batchnorm) and is the
        // noisiest step of the epoch; like drop_last for this one case, it is skipped. So is
        // one with fewer rows than ranks: every rank takes part in every step.
        if ((n == 1 && b > 1) || (parallel() && n < options_.communicator->size())) break;
        const std::size_t mine = parallel() ? shard_rows(n) : n;  // this rank's share
        const PreparedBatch prepared = loader.next();
        upload(prepared);
        const Tensor x = x_.rows(0, mine), t = t_.rows(0, mine);
        const Tensor& y = model_.forward(x, Mode::train);
        float loss = loss_.forward(y, t);
        update_train_metrics(y, t, prepared.base, mine, n);
        const Tensor dy = model_.output_grad(mine);
        loss_.backward(y, t, dy);
        loss = backward_and_reduce(x, dy, loss, mine, n);
        // The weights' penalty gradient is added to the summed gradient: it is the same on
        // every rank (the same weights), and backward's notices stay the final word on a
        // layer's gradients, so the sums can start before backward ends.
        const double penalty = regularized_.empty() ? 0.0 : regularize(true);
        if (!std::isfinite(loss) || !std::isfinite(penalty)) {
            state.stop_training = true;
            ended_ = "diverged";
            state.stop_reason = fmt::format(
                "loss became {} at epoch {} step {} (last finite loss {:.4g}): lower the learning "
                "rate",
                std::isnan(loss + penalty) ? "NaN" : "infinite", state.epoch + 1, batch + 1,
                sums.seen ? (sums.loss + sums.penalty) / sums.seen : 0.0);
            if (!best.weights.empty()) {
                weights().restore(best.weights);
                state.stop_reason +=
                    "; restored the weights of epoch " + std::to_string(best.epoch);
            }
            sums.seen = 0;  // this epoch's numbers are not reported
            break;
        }
        optimizer_.step(model_.parameters(), state.learning_rate);

        sums.loss += static_cast<double>(loss) * n;
        sums.penalty += penalty * n;
        sums.seen += n;
        ++state.step;
        state.batch = batch;
        state.samples_done = sums.seen;
        state.epoch_seconds = seconds_since(t0);
        state.batch_logs.set("loss", (sums.loss + sums.penalty) / sums.seen);
        for (auto& c : callbacks_) c->on_batch_end(state);
        bool interrupted = interrupt_requested();
        agree_to_stop(state, interrupted);
        // A callback's stop is honoured before the next batch (callback.hpp); a partial epoch
        // is not reported as if it were complete.
        if (state.stop_training && batch + 1 < state.batches) {
            sums.seen = 0;
            break;
        }
        if (interrupted) {
            stop_for_signal(true);
            sums.seen = 0;  // a partial epoch is not reported as if it were complete
            break;
        }
    }
    loader.stop();
    return sums;
}

void Trainer::end_epoch(const EpochSums& sums, double seconds, const Subset& validation,
                        TrainState& state, History& history, Best& best) {
    state.logs.set("loss", (sums.loss + sums.penalty) / sums.seen);
    if (!regularized_.empty()) state.logs.set("reg_loss", sums.penalty / sums.seen);
    for (auto& m : metrics_)
        for (const auto& [name, value] : m->result()) state.logs.set(name, value);
    if (validation.size()) {
        const Logs val = evaluate(validation);
        for (const auto& [name, value] : val.items()) state.logs.set("val_" + name, value);
    }
    // Logged as the float it is, printed without float-to-double noise (0.15, not 0.1500000059).
    state.logs.set(
        "lr", std::strtod(fmt::format("{:.7g}", static_cast<double>(state.learning_rate)).c_str(),
                          nullptr));
    state.logs.set("seconds", seconds);
    state.epoch_seconds = seconds;

    std::vector<double> row{static_cast<double>(state.epoch + 1)};
    for (std::size_t c = 1; c < history.columns.size(); ++c)
        row.push_back(state.logs.get(history.columns[c]).value_or(std::nan("")));
    history.rows.push_back(std::move(row));
    const double monitored = state.logs.get(best.key).value_or(std::nan(""));
    if (monitored < best.value) {
        best.value = monitored;
        best.epoch = state.epoch + 1;
        weights().snapshot(best.weights);
    }
    for (auto& c : callbacks_) c->on_epoch_end(state);
}

void Trainer::keep_best(const Best& best, std::size_t epochs_logged) {
    best_epoch_ = best.epoch;
    best_key_ = best.key;
    // The model a run keeps is its best epoch's (model.safetensors holds the best weights), not
    // whatever the last epoch left; callbacks that restore by their own monitor (early
    // stopping) run after this.
    restored_note_.clear();
    if (!best.weights.empty() && best.epoch != epochs_logged &&
        stop_reason_.find("restored the weights") == std::string::npos) {
        weights().restore(best.weights);
        restored_note_ = fmt::format("kept the weights of epoch {} (best {} {:.4f})", best.epoch,
                                     best.key, best.value);
    }
}

Logs Trainer::evaluate(const Subset& data, const std::vector<std::shared_ptr<Metric>>& extra) {
    for (auto& m : metrics_) m->reset();
    for (auto& m : extra) {
        m->build(model_.output_shape(), device_);
        m->reset();
    }
    double loss_sum = 0.0;
    infer(device_, model_, *loader_, data, x_, &t_, [&](const InferBatch& b) {
        loss_sum += static_cast<double>(loss_.forward(b.y, b.t)) * b.rows;
        if (metrics_.empty() && extra.empty()) return;
        const auto [yu, tu] = units_.to_units(b.y, b.t, b.base);
        for (auto& m : metrics_) m->update(yu, tu);
        for (auto& m : extra) m->update(yu, tu);
    });
    Logs logs;
    // As in Keras, the evaluated loss includes the weights' penalty, like the training loss.
    const double penalty = regularized_.empty() ? 0.0 : regularize(false);
    logs.set("loss", data.size() ? loss_sum / data.size() + penalty : 0.0);
    for (auto& m : metrics_)
        for (const auto& [name, value] : m->result()) logs.set(name, value);
    return logs;
}

}  // namespace plexus::core
