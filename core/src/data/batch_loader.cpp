#include "plexus/core/data/batch_loader.hpp"

#include <algorithm>

#include "plexus/error.hpp"

namespace plexus::core {

BatchLoader::BatchLoader(Pipeline& pipeline, std::size_t batch, std::size_t target_cols,
                         bool background)
    : BatchLoader(pipeline, batch, TargetRows{TargetSource::labels, target_cols, nullptr},
                  background) {}

BatchLoader::BatchLoader(Pipeline& pipeline, std::size_t batch, TargetRows targets,
                         bool background)
    : pipeline_(pipeline),
      features_(pipeline.output_features()),
      batch_(batch),
      target_cols_(targets.cols),
      targets_(targets),
      background_(background) {
    if (targets.source == TargetSource::input && targets.cols != 0 && targets.cols != features_)
        throw ShapeError("target = input: the model gives " + std::to_string(targets.cols) +
                         " values per sample, the prepared input has " +
                         std::to_string(features_));
    if (targets.scaler && targets.cols != 0 && targets.scaler->width() != targets.cols)
        throw ShapeError("the target transform was fitted on " +
                         std::to_string(targets.scaler->width()) + " target columns, the model gives " +
                         std::to_string(targets.cols));
    for (int s = 0; s < 2; ++s) {
        x_[s].assign(batch_ * features_, 0.0f);
        t_[s].assign(batch_ * target_cols_, 0.0f);
        if (targets.source == TargetSource::values) base_[s].assign(batch_ * target_cols_, 0.0f);
    }
}

BatchLoader::~BatchLoader() {
    stop();
}

void BatchLoader::prepare(std::size_t k, std::size_t slot) {
    const Subset& s = *subset_;
    const std::size_t begin = k * batch_, n = std::min(batch_, s.size() - begin);
    const std::uint32_t* ids = s.indices.data() + begin;
    pipeline_.prepare(*s.data, ids, n, mode_, epoch_, x_[slot].data());
    if (target_cols_ == 0) return;  // predictions only: no targets
    fill_targets(s, ids, n, slot);
}

void BatchLoader::fill_targets(const Subset& s, const std::uint32_t* ids, std::size_t n,
                               std::size_t slot) {
    float* t = t_[slot].data();
    const Dataset& data = *s.data;
    if (targets_.source == TargetSource::input) {
        std::copy(x_[slot].data(), x_[slot].data() + n * features_, t);
        return;
    }
    if (targets_.source == TargetSource::values) {
        if (data.target_width != target_cols_)
            throw DataError(data.source + ": samples have " + std::to_string(data.target_width) +
                            " float targets, the model gives " + std::to_string(target_cols_) +
                            " values per sample");
        const std::size_t k = target_cols_;
        float* base = base_[slot].data();
        for (std::size_t r = 0; r < n; ++r) {
            const std::size_t from = static_cast<std::size_t>(ids[r]) * k;
            std::copy_n(data.targets.data() + from, k, t + r * k);
            if (!data.target_base.empty()) std::copy_n(data.target_base.data() + from, k, base + r * k);
        }
        if (targets_.scaler) targets_.scaler->apply(t, t, n);
        return;
    }
    if (data.labels.size() != data.count)
        throw DataError(data.source + ": has float targets, not class ids; use a regression loss "
                        "(mse, mae or huber)");
    std::fill(t, t + n * target_cols_, 0.0f);
    for (std::size_t r = 0; r < n; ++r) {
        const std::uint32_t label = data.labels[ids[r]];
        if (target_cols_ == 1) {
            t[r] = static_cast<float>(label);  // binary: 0/1 in one column
        } else {
            if (label >= target_cols_)
                throw DataError(data.source + ": sample " + std::to_string(ids[r]) +
                                " has label " + std::to_string(label) + ", beyond the model's " +
                                std::to_string(target_cols_) + " classes");
            t[r * target_cols_ + label] = 1.0f;
        }
    }
}

void BatchLoader::work() {
    try {
        for (std::size_t k = 0; k < batches_; ++k) {
            const std::size_t slot = k % 2;
            {
                std::unique_lock lock(mutex_);
                changed_.wait(lock, [&] { return cancel_ || !full_[slot]; });
                if (cancel_) return;
            }
            prepare(k, slot);
            {
                std::lock_guard lock(mutex_);
                full_[slot] = true;
            }
            changed_.notify_all();
        }
    } catch (...) {
        std::lock_guard lock(mutex_);
        error_ = std::current_exception();
        changed_.notify_all();
    }
}

void BatchLoader::start(const Subset& subset, Mode mode, std::uint64_t epoch) {
    stop();
    subset_ = &subset;
    batches_ = (subset.size() + batch_ - 1) / batch_;
    next_ = 0;
    mode_ = mode;
    epoch_ = epoch;
    full_[0] = full_[1] = false;
    cancel_ = false;
    error_ = nullptr;
    if (background_ && batches_ > 1) thread_ = std::thread([this] { work(); });
}

BatchLoader::Batch BatchLoader::batch_in(std::size_t slot, std::size_t rows) const {
    const bool based = !base_[slot].empty() && !subset_->data->target_base.empty();
    return {x_[slot].data(), t_[slot].data(), rows, based ? base_[slot].data() : nullptr};
}

BatchLoader::Batch BatchLoader::next() {
    if (next_ >= batches_) throw Error("batch loader: no batch left in this pass");
    const std::size_t k = next_++, slot = k % 2;
    const std::size_t rows = std::min(batch_, subset_->size() - k * batch_);
    if (!thread_.joinable()) {
        prepare(k, slot);
        return batch_in(slot, rows);
    }
    std::unique_lock lock(mutex_);
    // The caller is done with the previous batch: its slot can be refilled.
    if (k > 0) full_[1 - slot] = false;
    changed_.notify_all();
    changed_.wait(lock, [&] { return full_[slot] || error_; });
    if (error_) std::rethrow_exception(error_);
    return batch_in(slot, rows);
}

void BatchLoader::stop() {
    if (!thread_.joinable()) return;
    {
        std::lock_guard lock(mutex_);
        cancel_ = true;
    }
    changed_.notify_all();
    thread_.join();
}

}  // namespace plexus::core
