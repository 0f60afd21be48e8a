#include "plexus/core/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>

#include "plexus/core/files.hpp"
#include "plexus/error.hpp"

namespace plexus::core {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

std::string History::to_csv() const {
    std::string out;
    for (std::size_t i = 0; i < columns.size(); ++i) out += (i ? "," : "") + columns[i];
    out += "\n";
    char buf[64];
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < row.size(); ++i) {
            std::snprintf(buf, sizeof buf, i == 0 ? "%.0f" : "%.6g", row[i]);
            out += (i ? "," : "") + std::string(buf);
        }
        out += "\n";
    }
    return out;
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
      options_(options) {}

void Trainer::build(std::size_t features, std::size_t classes) {
    features_ = features;
    classes_ = classes;
    const std::size_t b = options_.batch_size;
    const Shape out = model_.build(Shape{b, features}, device_, options_.seed);
    if (out.rank() != 2 || out[1] != classes)
        throw ShapeError("the model's output is " + out.str() + " per batch but the data has " +
                         std::to_string(classes) + " classes: make the last layer produce " +
                         std::to_string(classes) + " values (e.g. dense units=" +
                         std::to_string(classes) + ")");
    loss_.build(out, device_);
    for (auto& m : metrics_) m->build(out, device_);
    optimizer_.build(model_.parameters(), device_);
    host_x_.assign(b * features, 0.0f);
    host_t_.assign(b * classes, 0.0f);
    x_ = device_.alloc(Shape{b, features});
    t_ = device_.alloc(Shape{b, classes});
}

void Trainer::load_batch(const Subset& subset, std::size_t begin, std::size_t count) {
    const Dataset& d = *subset.data;
    const std::size_t f = features_;
    const float scale = 1.0f / options_.divide;
    std::fill(host_t_.begin(), host_t_.begin() + count * classes_, 0.0f);
    for (std::size_t r = 0; r < count; ++r) {
        const std::size_t i = subset.indices[begin + r];
        float* dst = host_x_.data() + r * f;
        if (!d.u8.empty()) {
            const std::uint8_t* src = d.u8.data() + i * f;
            for (std::size_t j = 0; j < f; ++j) dst[j] = static_cast<float>(src[j]) * scale;
        } else {
            std::copy_n(d.f32.data() + i * f, f, dst);
        }
        host_t_[r * classes_ + d.labels[i]] = 1.0f;
    }
    device_.upload(x_.rows(0, count), std::span<const float>(host_x_.data(), count * f));
    device_.upload(t_.rows(0, count), std::span<const float>(host_t_.data(), count * classes_));
}

History Trainer::fit(const Subset& train, const Subset& validation,
                     const std::function<void(const History&)>& on_epoch) {
    History history;
    history.columns = {"epoch", "loss"};
    for (auto& m : metrics_) {
        m->reset();
        for (const auto& [name, value] : m->result()) history.columns.push_back(name);
    }
    if (validation.size()) {
        history.columns.push_back("val_loss");
        for (auto& m : metrics_)
            for (const auto& [name, value] : m->result()) history.columns.push_back("val_" + name);
    }
    history.columns.push_back("lr");
    history.columns.push_back("seconds");

    const std::size_t b = options_.batch_size;
    TrainState state;
    state.epochs = options_.epochs;
    state.batch_size = b;
    state.samples = train.size();
    state.batches = (train.size() + b - 1) / b;
    state.learning_rate = optimizer_.learning_rate();
    for (auto& c : callbacks_) c->on_train_begin(state);

    Subset shuffled = train;
    double train_seconds = 0.0;
    std::size_t trained_samples = 0, epochs_done = 0;
    for (std::size_t epoch = 0; epoch < options_.epochs && !state.stop_training; ++epoch) {
        state.epoch = epoch;
        state.logs.clear();
        state.batch_logs.clear();
        std::mt19937_64 rng(options_.seed * 6364136223846793005ULL + epoch + 1);
        std::shuffle(shuffled.indices.begin(), shuffled.indices.end(), rng);
        for (auto& c : callbacks_) c->on_epoch_begin(state);
        for (auto& m : metrics_) m->reset();

        const auto t0 = Clock::now();
        double loss_sum = 0.0;
        std::size_t seen = 0;
        for (std::size_t batch = 0; batch < state.batches; ++batch) {
            const std::size_t begin = batch * b, n = std::min(b, train.size() - begin);
            load_batch(shuffled, begin, n);
            const Tensor x = x_.rows(0, n), t = t_.rows(0, n);
            const Tensor& y = model_.forward(x, Mode::train);
            const float loss = loss_.forward(y, t);
            if (!std::isfinite(loss)) {
                char msg[256];
                std::snprintf(msg, sizeof msg,
                              "loss became %s at epoch %zu step %zu (last finite epoch loss %.4g): "
                              "lower the learning rate",
                              std::isnan(loss) ? "NaN" : "infinite", epoch + 1, batch + 1,
                              seen ? loss_sum / seen : 0.0);
                state.stop_training = true;
                state.stop_reason = msg;
                break;
            }
            const Tensor dy = model_.output_grad(n);
            loss_.backward(y, t, dy);
            model_.backward(x, dy);
            optimizer_.step(model_.parameters(), state.learning_rate);
            for (auto& m : metrics_) m->update(y, t);

            loss_sum += static_cast<double>(loss) * n;
            seen += n;
            state.batch = batch;
            state.samples_done = seen;
            state.epoch_seconds = seconds_since(t0);
            state.batch_logs.set("loss", loss_sum / seen);
            for (auto& c : callbacks_) c->on_batch_end(state);
            if (interrupt_requested()) {
                state.stop_training = true;
                state.stop_reason = "interrupted (Ctrl-C) during epoch " + std::to_string(epoch + 1);
                break;
            }
        }
        const double epoch_seconds = seconds_since(t0);
        if (seen == 0) break;
        train_seconds += epoch_seconds;
        trained_samples += seen;
        ++epochs_done;

        state.logs.set("loss", loss_sum / seen);
        for (auto& m : metrics_)
            for (const auto& [name, value] : m->result()) state.logs.set(name, value);
        if (validation.size()) {
            const Logs val = evaluate(validation);
            for (const auto& [name, value] : val.items()) state.logs.set("val_" + name, value);
        }
        state.logs.set("lr", state.learning_rate);
        state.logs.set("seconds", epoch_seconds);
        state.epoch_seconds = epoch_seconds;

        std::vector<double> row{static_cast<double>(epoch + 1)};
        for (std::size_t c = 1; c < history.columns.size(); ++c)
            row.push_back(state.logs.get(history.columns[c]).value_or(std::nan("")));
        history.rows.push_back(std::move(row));
        for (auto& c : callbacks_) c->on_epoch_end(state);
        if (on_epoch) on_epoch(history);
    }
    stop_reason_ = state.stop_reason;
    for (auto& c : callbacks_) c->on_train_end(state);
    samples_per_second_ = train_seconds > 0 ? trained_samples / train_seconds : 0.0;
    seconds_per_epoch_ = epochs_done ? train_seconds / epochs_done : 0.0;
    return history;
}

Logs Trainer::evaluate(const Subset& data) {
    for (auto& m : metrics_) m->reset();
    const std::size_t b = options_.batch_size;
    double loss_sum = 0.0;
    for (std::size_t begin = 0; begin < data.size(); begin += b) {
        const std::size_t n = std::min(b, data.size() - begin);
        load_batch(data, begin, n);
        const Tensor x = x_.rows(0, n), t = t_.rows(0, n);
        const Tensor& y = model_.forward(x, Mode::infer);
        loss_sum += static_cast<double>(loss_.forward(y, t)) * n;
        for (auto& m : metrics_) m->update(y, t);
    }
    Logs logs;
    logs.set("loss", data.size() ? loss_sum / data.size() : 0.0);
    for (auto& m : metrics_)
        for (const auto& [name, value] : m->result()) logs.set(name, value);
    return logs;
}

}  // namespace plexus::core
