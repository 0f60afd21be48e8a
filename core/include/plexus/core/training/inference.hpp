// The one inference loop: a pass over a subset in infer mode, each batch uploaded once and run
// through the model. The trainer's evaluation and a saved model's evaluate and predict differ
// only in what they do with each batch's outputs.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <thread>

#include "plexus/core/data/batch_loader.hpp"
#include "plexus/core/data/dataset.hpp"
#include "plexus/core/training/model.hpp"

#pragma GCC visibility push(default)

namespace plexus::core {

/// What a pass sees of one batch: the model's outputs and the targets (rows `rows`), and
/// where the batch starts in the subset.
struct InferBatch {
    const Tensor& y;
    const Tensor& t;  // an empty tensor when the pass uploads no targets
    std::size_t begin, rows;
    const float* base = nullptr;  // host: relative windows' bases (PreparedBatch::base)
};

/// Runs `model` over `data` in infer mode through `loader` (built for batches that fit `x`
/// and `t`). Each batch's samples go up into `x`, its targets into `t` when `t` is given,
/// then `on_batch` sees the outputs. Allocates nothing on the device.
void infer(Device& device, Sequential& model, BatchLoader& loader, const Subset& data,
           const Tensor& x, const Tensor* t,
           const std::function<void(const InferBatch&)>& on_batch);

/// Work started on a helper thread while the caller goes on, e.g. a loaded model's first
/// forward pass while `plexus evaluate` reads its data (SavedModel::warm_up). join() waits for
/// it and rethrows its error; the destructor waits too (and drops an error nobody asked for).
/// The work must not share anything the caller touches before join().
class Background {
public:
    explicit Background(std::function<void()> work);
    ~Background();
    Background(const Background&) = delete;
    Background& operator=(const Background&) = delete;
    void join();

private:
    // The error first: the thread may fail (and assign it) before the constructor returns.
    std::exception_ptr error_;
    std::thread thread_;
};

}  // namespace plexus::core

#pragma GCC visibility pop
