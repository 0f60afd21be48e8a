// Batches for the trainer, prepared (gather, uint8 → float, transforms, targets) on a
// background thread while the device computes the previous step: double buffering, so the
// thread is at most one batch ahead and the step never waits on data it could have had.
#pragma once

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "plexus/core/data/dataset.hpp"
#include "plexus/core/data/pipeline.hpp"
#include "plexus/core/data/targets.hpp"

namespace plexus::core {

struct PreparedBatch {
    const float* x;  // rows × features
    const float* t;  // rows × target columns
    std::size_t rows;
    /// Float targets of relative series windows: rows × target columns that turn a target (or
    /// a prediction) back into the target's units; nullptr when the targets are absolute.
    const float* base = nullptr;
};

class BatchLoader {
public:
    using Batch = PreparedBatch;

    /// Batches of `batch` rows (the last of a pass may be shorter), within what `pipeline` was
    /// built for; targets are one-hot rows, 0/1 in one column when `target_cols` is 1, none
    /// when it is 0.
    BatchLoader(Pipeline& pipeline, std::size_t batch, std::size_t target_cols, bool background);
    /// The same for targets of any source: class ids as above, the dataset's float targets
    /// (scaled by targets.scaler when given; `base` filled when the dataset has target_base),
    /// or the prepared input itself (targets.cols must equal the pipeline's output features).
    BatchLoader(Pipeline& pipeline, std::size_t batch, TargetRows targets, bool background);
    ~BatchLoader();
    BatchLoader(const BatchLoader&) = delete;
    BatchLoader& operator=(const BatchLoader&) = delete;

    /// Begins a pass over `subset` (in the order of subset.indices).
    void start(const Subset& subset, Mode mode, std::uint64_t epoch);
    /// The next batch of the pass; valid until the next call. Rethrows a preparation error.
    Batch next();
    /// Ends the pass (early or not) and waits for the thread.
    void stop();

private:
    void prepare(std::size_t k, std::size_t slot);
    void work();

    Pipeline& pipeline_;
    Batch batch_in(std::size_t slot, std::size_t rows) const;
    void fill_targets(const Subset& s, const std::uint32_t* ids, std::size_t n, std::size_t slot);

    std::size_t features_, batch_, target_cols_;
    TargetRows targets_;
    bool background_;
    HugeFloats x_[2], t_[2], base_[2];  // first touched by the first batch

    // The current pass.
    const Subset* subset_ = nullptr;
    std::size_t batches_ = 0, next_ = 0;
    Mode mode_ = Mode::infer;
    std::uint64_t epoch_ = 0;

    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable changed_;
    bool full_[2] = {false, false};
    bool cancel_ = false;
    std::exception_ptr error_;
};

}  // namespace plexus::core
