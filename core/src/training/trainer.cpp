#include "plexus/core/training/trainer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
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

namespace plexus::core {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

/// Weights on the host for callbacks and NaN recovery; never used inside a step.
class Trainer::Weights final : public ModelAccess {
public:
    using WriteModel = std::function<void(const std::string&, const std::vector<HostTensor>&)>;
    Weights(Device& device, Sequential& model, const Pipeline& pipeline,
            const TargetScaler& scaler, WriteModel write_model)
        : device_(device),
          model_(model),
          pipeline_(pipeline),
          scaler_(scaler),
          write_model_(std::move(write_model)) {}

    void snapshot(std::vector<float>& out) override {
        std::size_t total = 0;
        for (const auto& w : model_.weights()) total += w.value.numel();
        out.resize(total);
        std::size_t at = 0;
        for (const auto& w : model_.weights()) {
            device_.download(w.value, std::span<float>(out.data() + at, w.value.numel()));
            at += w.value.numel();
        }
    }

    void restore(const std::vector<float>& in) override {
        std::size_t at = 0;
        for (const auto& w : model_.weights()) {
            if (at + w.value.numel() > in.size())
                throw Error("restore: the snapshot does not match this model's weights");
            device_.upload(w.value, std::span<const float>(in.data() + at, w.value.numel()));
            at += w.value.numel();
        }
    }

    void save(const std::string& path) override {
        if (!write_model_) throw Error("save: this trainer was given no way to write a model file");
        std::vector<HostTensor> tensors;
        for (const auto& w : model_.weights()) {
            HostTensor t{w.name, w.value.shape(), std::vector<float>(w.value.numel())};
            device_.download(w.value, t.values);
            tensors.push_back(std::move(t));
        }
        // Fitted transforms travel with the weights: predict prepares data as training did.
        for (auto& t : pipeline_.state()) tensors.push_back(std::move(t));
        // So does the target transform: predictions are reported in the target's units.
        if (!scaler_.is_identity())
            for (auto& t : scaler_.state()) tensors.push_back(std::move(t));
        write_model_(path, tensors);
    }

private:
    Device& device_;
    Sequential& model_;
    const Pipeline& pipeline_;
    const TargetScaler& scaler_;
    WriteModel write_model_;
};

Trainer::Trainer(Device& device, Sequential& model, Loss& loss, Optimizer& optimizer,
                 std::vector<std::shared_ptr<Metric>> metrics,
                 std::vector<std::shared_ptr<Callback>> callbacks, Pipeline& pipeline,
                 TrainOptions options)
    : Trainer(device, model, loss, optimizer, std::move(metrics), std::move(callbacks),
              std::move(options)) {
    pipeline_ = &pipeline;
}

Trainer::Trainer(Device& device, Sequential& model, Loss& loss, Optimizer& optimizer,
                 std::vector<std::shared_ptr<Metric>> metrics,
                 std::vector<std::shared_ptr<Callback>> callbacks, TrainOptions options)
    : device_(device),
      model_(model),
      loss_(loss),
      optimizer_(optimizer),
      metrics_(std::move(metrics)),
      callbacks_(std::move(callbacks)),
      options_(std::move(options)) {}

Trainer::~Trainer() = default;

ModelAccess& Trainer::weights() {
    return *weights_;
}

void Trainer::build(std::size_t features, std::size_t classes,
                    const std::vector<std::size_t>& class_counts) {
    TrainTargets targets;
    targets.classes = classes;
    targets.class_counts = class_counts;
    build(features, targets);
}

void Trainer::build(std::size_t features, const TrainTargets& targets) {
    if (!pipeline_) {
        own_pipeline_ = std::make_unique<Pipeline>();
        own_pipeline_->build(Shape{features}, options_.batch_size, 255.0f, options_.seed);
        pipeline_ = own_pipeline_.get();
    }
    if (pipeline_->output_features() != features)
        throw ShapeError("the data pipeline gives " + std::to_string(pipeline_->output_features()) +
                         " features per sample, the model was built for " +
                         std::to_string(features));
    build(targets);
}

void Trainer::build(std::size_t classes, const std::vector<std::size_t>& class_counts) {
    TrainTargets targets;
    targets.classes = classes;
    targets.class_counts = class_counts;
    build(targets);
}

void Trainer::build(const TrainTargets& targets) {
    if (!pipeline_)
        throw Error("Trainer::build: a trainer without a pipeline needs the feature count");
    targets_ = targets;
    features_ = pipeline_->output_features();
    classes_ = targets.source == TargetSource::labels ? targets.classes : 0;
    const std::size_t b = options_.batch_size;
    // Layers see samples in their shape ([H, W] images stay images for a convolution).
    const Shape input = batch_of(b, pipeline_->output_shape());
    const Shape out = model_.build(input, device_, options_.seed);
    const std::size_t per_sample = out.rank() ? out.numel() / out[0] : 0;
    if (targets.source == TargetSource::labels) {
        const std::size_t c = targets.classes;
        const bool binary = c == 2 && out.rank() == 2 && out[1] == 1;
        if (out.rank() != 2 || (out[1] != c && !binary))
            throw ShapeError("the model's output is " + out.str() + " per batch but the data has " +
                             std::to_string(c) + " classes: make the last layer produce " +
                             std::to_string(c) + " values (e.g. dense units=" +
                             std::to_string(c) + ")");
        target_cols_ = out[1];
        if (!targets.class_counts.empty()) loss_.set_class_counts(targets.class_counts);
    } else {
        const std::size_t width =
            targets.source == TargetSource::input ? features_ : targets.width;
        if (per_sample != width)
            throw ShapeError("the model's output is " + out.str() + " per batch but the data has " +
                             std::to_string(width) +
                             (targets.source == TargetSource::input
                                  ? " input values per sample (target = input)"
                                  : " float target(s) per sample") +
                             ": make the last layer produce " + std::to_string(width) +
                             " values (e.g. dense units=" + std::to_string(width) + ")");
        target_cols_ = width;
        if (targets.source == TargetSource::input) targets_.scaler.identity(width);
        else if (targets_.scaler.width() != width) targets_.scaler.identity(width);
    }
    const TargetKind needed = targets.source == TargetSource::labels ? TargetKind::classes
                                                                     : TargetKind::values;
    if (loss_.target_kind() != needed)
        throw ShapeError(std::string("the loss wants ") + target_kind_name(loss_.target_kind()) +
                         " but the data has " + target_kind_name(needed));
    for (auto& m : metrics_)
        if (!m->accepts(needed))
            throw ShapeError(std::string("a metric does not work on ") + target_kind_name(needed));
    loss_.build(out, device_);
    for (auto& m : metrics_) m->build(out, device_);
    units_ = TargetUnits();
    if (targets.source != TargetSource::labels)
        units_.build(device_, targets_.scaler, b, targets.base);
    optimizer_.build(model_.parameters(), device_);
    loader_ = std::make_unique<BatchLoader>(
        *pipeline_, b,
        TargetRows{targets_.source, target_cols_,
                   targets_.source == TargetSource::values ? &targets_.scaler : nullptr},
        options_.prefetch);
    x_ = device_.alloc(input);
    t_ = device_.alloc(Shape{b, target_cols_});
    regularized_.clear();
    for (Parameter* p : model_.parameters())
        if (p->l1 > 0.0f || p->l2 > 0.0f)
            regularized_.push_back({p, device_.alloc(p->value.shape())});
    // Two slots per regularised parameter (Σw², Σ|w|), reduced on the device; the step
    // downloads them once, together.
    penalty_sums_ = device_.alloc(Shape{std::max<std::size_t>(1, 2 * regularized_.size())});
    penalty_host_.assign(penalty_sums_.numel(), 0.0f);
    weights_ = std::make_unique<Weights>(device_, model_, *pipeline_, targets_.scaler,
                                         options_.write_model);
}

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

/// The weights of the best epoch so far by `key`, kept by the trainer itself, so a diverging
/// run (NaN loss) ends with what it had learned, not with garbage.
struct Trainer::Best {
    const char* key = "loss";
    std::vector<float> weights;
    double value = std::numeric_limits<double>::infinity();
    std::size_t epoch = 0;  // 1-based; 0: none yet
};

struct Trainer::EpochSums {
    double loss = 0.0, penalty = 0.0;  // summed over samples
    std::size_t seen = 0;              // 0: the epoch is not reported
};

History Trainer::fit(const Subset& train, const Subset& validation,
                     const std::function<void(const History&)>& on_epoch) {
    History history = empty_history(validation.size() > 0);
    TrainState state;
    begin_training(train, state);
    Best best;
    best.key = validation.size() ? "val_loss" : "loss";
    Subset order = train;
    double train_seconds = 0.0;
    std::size_t trained_samples = 0, epochs_done = 0;
    for (std::size_t epoch = 0; epoch < options_.epochs && !state.stop_training; ++epoch) {
        state.epoch = epoch;
        state.logs.clear();
        state.batch_logs.clear();
        std::mt19937_64 rng(options_.seed * 6364136223846793005ULL + epoch + 1);
        std::shuffle(order.indices.begin(), order.indices.end(), rng);
        for (auto& c : callbacks_) c->on_epoch_begin(state);
        for (auto& m : metrics_) m->reset();

        const auto t0 = Clock::now();
        const EpochSums sums = train_epoch(order, state, best);
        const double seconds = seconds_since(t0);
        if (sums.seen == 0) break;
        train_seconds += seconds;
        trained_samples += sums.seen;
        ++epochs_done;
        end_epoch(sums, seconds, validation, state, history, best);
        if (on_epoch) on_epoch(history);
    }
    stop_reason_ = state.stop_reason;
    keep_best(best, history.rows.size());
    for (auto& c : callbacks_) c->on_train_end(state);
    samples_per_second_ = train_seconds > 0 ? trained_samples / train_seconds : 0.0;
    seconds_per_epoch_ = epochs_done ? train_seconds / epochs_done : 0.0;
    return history;
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
    state.model = weights_.get();
    state.run_dir = options_.run_dir;
    for (auto& c : callbacks_) c->on_train_begin(state);
}

Trainer::EpochSums Trainer::train_epoch(const Subset& order, TrainState& state, Best& best) {
    const std::size_t b = options_.batch_size;
    const auto t0 = Clock::now();
    EpochSums sums;
    loader_->start(order, Mode::train, state.epoch);
    for (std::size_t batch = 0; batch < state.batches; ++batch) {
        const std::size_t begin = batch * b, n = std::min(b, order.size() - begin);
        // A trailing batch of one sample has no batch statistics (batchnorm) and is the
        // noisiest step of the epoch; like drop_last for this one case, it is skipped.
        if (n == 1 && b > 1) break;
        const PreparedBatch prepared = loader_->next();
        upload(prepared);
        const Tensor x = x_.rows(0, n), t = t_.rows(0, n);
        const Tensor& y = model_.forward(x, Mode::train);
        const float loss = loss_.forward(y, t);
        update_metrics(metrics_, y, t, prepared.base);
        const Tensor dy = model_.output_grad(n);
        loss_.backward(y, t, dy);
        model_.backward(x, dy);
        const double penalty = regularized_.empty() ? 0.0 : regularize(true);
        if (!std::isfinite(loss) || !std::isfinite(penalty)) {
            state.stop_training = true;
            state.stop_reason = fmt::format(
                "loss became {} at epoch {} step {} (last finite loss {:.4g}): lower the learning "
                "rate",
                std::isnan(loss + penalty) ? "NaN" : "infinite", state.epoch + 1, batch + 1,
                sums.seen ? (sums.loss + sums.penalty) / sums.seen : 0.0);
            if (!best.weights.empty()) {
                weights_->restore(best.weights);
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
        // A callback's stop is honoured before the next batch (callback.hpp); a partial epoch
        // is not reported as if it were complete.
        if (state.stop_training && batch + 1 < state.batches) {
            sums.seen = 0;
            break;
        }
        if (interrupt_requested()) {
            state.stop_training = true;
            state.stop_reason = "interrupted (Ctrl-C) during epoch " +
                                std::to_string(state.epoch + 1) +
                                "; the weights include its completed steps";
            sums.seen = 0;  // a partial epoch is not reported as if it were complete
            break;
        }
    }
    loader_->stop();
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
        weights_->snapshot(best.weights);
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
        weights_->restore(best.weights);
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
