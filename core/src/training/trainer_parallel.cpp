// Synchronous data parallelism (mpirun -np N plexus train): every rank holds the model and
// takes its share of each batch of batch_size rows; one fused buffer per step sums the shares'
// gradients, each weighted by its share of the batch, so N ranks take the step one process
// would take on the whole batch; the sum runs in buckets while backward goes on
// (gradient_buckets.hpp). A process alone never comes here.
#include <algorithm>

#include "plexus/core/data/batch_loader.hpp"
#include "plexus/core/training/trainer.hpp"
#include "plexus/error.hpp"

namespace plexus::core {

std::size_t Trainer::shard_rows(std::size_t rows, std::size_t rank) const {
    const std::size_t n = options_.communicator->size();
    // Equal shares; the first rows % n ranks take one row more.
    return rows / n + (rank < rows % n ? 1 : 0);
}

std::size_t Trainer::shard_rows(std::size_t rows) const {
    return shard_rows(rows, options_.communicator->rank());
}

void Trainer::build_parallel(std::size_t target_cols) {
    if (!parallel()) return;
    // Every rank takes part in every step with at least one row (a layer that sums over the
    // ranks, batchnorm sync=true, needs every rank's forward).
    if (options_.batch_size < options_.communicator->size())
        throw Error("train.batch_size " + std::to_string(options_.batch_size) +
                    " is smaller than the " + std::to_string(options_.communicator->size()) +
                    " ranks: every rank needs rows of every batch (raise batch_size or start "
                    "fewer ranks)");
    buckets_ = std::make_unique<GradientBuckets>(device_, model_, *options_.communicator,
                                                 options_.bucket_bytes);
    if (!metrics_.empty()) {
        const std::size_t b = options_.batch_size, per_row = model_.output_shape().numel() / b;
        const std::size_t width = per_row + 2 * target_cols;  // y, t, base
        gather_mine_.assign(b * width, 0.0f);
        gather_all_.assign(b * width, 0.0f);
        gathered_.assign(b * width, 0.0f);
        gather_counts_.assign(options_.communicator->size(), 0);
        all_y_ = device_.alloc(model_.output_shape());
        all_t_ = device_.alloc(Shape{b, target_cols});
    }
    // A rank's share of a full batch is its largest (a short last batch gives no rank more).
    shard_loader_ = std::make_unique<BatchLoader>(
        *pipeline_, std::max<std::size_t>(1, shard_rows(options_.batch_size)),
        TargetRows{targets_.source, target_cols,
                   targets_.source == TargetSource::values ? &targets_.scaler : nullptr},
        options_.prefetch);
}

const Subset& Trainer::rank_order(const Subset& order) {
    if (!parallel()) return order;
    const std::size_t b = options_.batch_size, n = options_.communicator->size(),
                      r = options_.communicator->rank();
    rank_order_.data = order.data;
    rank_order_.indices.clear();
    for (std::size_t begin = 0; begin < order.size(); begin += b) {
        const std::size_t rows = std::min(b, order.size() - begin);
        const std::size_t first = begin + r * (rows / n) + std::min(r, rows % n);
        const auto from = order.indices.begin() + static_cast<std::ptrdiff_t>(first);
        rank_order_.indices.insert(rank_order_.indices.end(), from,
                                   from + static_cast<std::ptrdiff_t>(shard_rows(rows)));
    }
    return rank_order_;
}

void Trainer::share_weights() {
    if (!parallel()) return;
    std::vector<float> values;
    weights().snapshot(values);
    options_.communicator->broadcast(values);
    weights().restore(values);
}

float Trainer::backward_and_reduce(const Tensor& x, const Tensor& dy, float loss, std::size_t mine,
                                   std::size_t rows) {
    if (!parallel()) {
        model_.backward(x, dy);
        return loss;
    }
    // Each rank's loss and gradients are means over its share: weighted by the share's size
    // they add up to the mean over the whole batch, whatever the remainder. The loss is known
    // before backward: it rides in the first bucket.
    const float weight = static_cast<float>(mine) / static_cast<float>(rows);
    buckets_->begin(loss, weight);
    const bool overlap = options_.overlap_allreduce && buckets_->can_overlap();
    if (overlap) {
        model_.backward(x, dy, buckets_.get());
        loss = buckets_->finish();
    } else {
        model_.backward(x, dy);
        loss = buckets_->reduce_blocking();
    }
    reduce_cost_.seconds = buckets_->seconds();
    reduce_cost_.wait_seconds = buckets_->wait_seconds();
    reduce_cost_.bytes_per_step = buckets_->values() * sizeof(float);
    reduce_cost_.buckets = overlap ? buckets_->buckets() : 1;
    reduce_cost_.started_in_backward = overlap ? buckets_->started_in_backward() : 0;
    reduce_cost_.overlapped = overlap;
    ++reduce_cost_.steps;
    return loss;
}

void Trainer::update_train_metrics(const Tensor& y, const Tensor& t, const float* base,
                                   std::size_t mine, std::size_t rows) {
    if (!parallel() || metrics_.empty()) return update_metrics(metrics_, y, t, base);
    const std::size_t yc = y.numel() / mine, tc = target_cols_;
    const std::size_t width = yc + tc + (base ? tc : 0);
    // This rank's block: its rows of y, then of t, then of base.
    float* out = gather_mine_.data();
    device_.download(y, std::span<float>(out, mine * yc));
    device_.download(t, std::span<float>(out + mine * yc, mine * tc));
    if (base) std::copy(base, base + mine * tc, out + mine * (yc + tc));
    for (std::size_t r = 0; r < gather_counts_.size(); ++r)
        gather_counts_[r] = shard_rows(rows, r) * width;
    options_.communicator->allgather(std::span<const float>(out, mine * width),
                                     std::span<float>(gather_all_.data(), rows * width),
                                     gather_counts_);
    // The shares are consecutive rows of the batch in rank order: block r's rows follow
    // block r-1's in each of y, t and base.
    float *all_y = gathered_.data(), *all_t = all_y + rows * yc, *all_base = all_t + rows * tc;
    const float* block = gather_all_.data();
    for (std::size_t r = 0, row = 0; r < gather_counts_.size(); ++r) {
        const std::size_t k = shard_rows(rows, r);
        std::copy_n(block, k * yc, all_y + row * yc);
        std::copy_n(block + k * yc, k * tc, all_t + row * tc);
        if (base) std::copy_n(block + k * (yc + tc), k * tc, all_base + row * tc);
        block += k * width;
        row += k;
    }
    const Tensor ys = all_y_.rows(0, rows), ts = all_t_.rows(0, rows);
    device_.upload(ys, std::span<const float>(all_y, rows * yc));
    device_.upload(ts, std::span<const float>(all_t, rows * tc));
    update_metrics(metrics_, ys, ts, base ? all_base : nullptr);
}

void Trainer::agree_to_stop(TrainState& state, bool& interrupted) {
    if (!parallel()) return;
    double flags[2] = {state.stop_training ? 1.0 : 0.0, interrupted ? 1.0 : 0.0};
    options_.communicator->allreduce_sum(std::span<double>(flags, 2));
    if (flags[1] > 0.0) interrupted = true;
    if (flags[0] > 0.0 && !state.stop_training) {
        state.stop_training = true;
        state.stop_reason = "another rank's callback stopped training";
    }
}

}  // namespace plexus::core
