#include "plexus/core/data/batch_loader.hpp"

#include <algorithm>

#include "plexus/error.hpp"

namespace plexus::core {

BatchLoader::BatchLoader(Pipeline& pipeline, std::size_t batch, std::size_t target_cols,
                         bool background)
    : pipeline_(pipeline),
      features_(pipeline.output_features()),
      batch_(batch),
      target_cols_(target_cols),
      background_(background) {
    for (int s = 0; s < 2; ++s) {
        x_[s].assign(batch_ * features_, 0.0f);
        t_[s].assign(batch_ * target_cols_, 0.0f);
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
    float* t = t_[slot].data();
    std::fill(t, t + n * target_cols_, 0.0f);
    for (std::size_t r = 0; r < n; ++r) {
        const std::uint32_t label = s.data->labels[ids[r]];
        if (target_cols_ == 1) {
            t[r] = static_cast<float>(label);  // binary: 0/1 in one column
        } else {
            if (label >= target_cols_)
                throw DataError(s.data->source + ": sample " + std::to_string(ids[r]) +
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

BatchLoader::Batch BatchLoader::next() {
    if (next_ >= batches_) throw Error("batch loader: no batch left in this pass");
    const std::size_t k = next_++, slot = k % 2;
    const std::size_t rows = std::min(batch_, subset_->size() - k * batch_);
    if (!thread_.joinable()) {
        prepare(k, slot);
        return {x_[slot].data(), t_[slot].data(), rows};
    }
    std::unique_lock lock(mutex_);
    // The caller is done with the previous batch: its slot can be refilled.
    if (k > 0) full_[1 - slot] = false;
    changed_.notify_all();
    changed_.wait(lock, [&] { return full_[slot] || error_; });
    if (error_) std::rethrow_exception(error_);
    return {x_[slot].data(), t_[slot].data(), rows};
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
