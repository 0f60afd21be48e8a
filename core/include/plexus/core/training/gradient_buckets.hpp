// The gradient allreduce of data-parallel training, overlapped with backward (PyTorch DDP's
// buckets): every trainable gradient has its place in one fused host buffer, laid out in
// reverse layer order after one slot for the loss, so backward fills it front to back. As
// backward passes a layer (GradientObserver), its gradients go into their places, weighted by
// the rank's share of the batch; each bucket (a span of the buffer: the first 1 MiB, then
// train.bucket_bytes each, as DDP's first_bucket_bytes and bucket_cap_mb) whose last value is
// in starts a nonblocking sum at once, and the sums started progress between layers. After
// backward the started sums are waited for, the rest goes in one blocking allreduce and the
// sums go back to the device. The sums are
// the same elementwise sums of the same weighted values as one blocking allreduce of the whole
// buffer (reduce_blocking, train.overlap_allreduce = false).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "plexus/core/training/communicator.hpp"
#include "plexus/core/training/model.hpp"

#pragma GCC visibility push(default)

namespace plexus::core {

class GradientBuckets final : public GradientObserver {
public:
    /// DDP's defaults: a small first bucket (the last layers' gradients, ready first) starts
    /// its sum early in backward; the rest goes in large buckets, because each bucket costs a
    /// collective's latency (2 (N-1) messages in a ring) and, over shared memory, MPI moves a
    /// started sum only inside the ranks' own MPI calls: 1 MiB buckets made (c)'s 23 MB of
    /// gradients 23 sums, slower than one (bench/README.md, "Overlapped with backward").
    static constexpr std::size_t kFirstBucketBytes = std::size_t{1} << 20;
    static constexpr std::size_t kDefaultBucketBytes = std::size_t{25} << 20;

    /// For `model` (built) on `device`, summing through `communicator`: a first bucket of
    /// min(first_bucket_bytes, bucket_bytes), then buckets of `bucket_bytes` (each at least one
    /// float). Sizes every buffer: a step allocates nothing.
    GradientBuckets(Device& device, const Sequential& model, Communicator& communicator,
                    std::size_t bucket_bytes = kDefaultBucketBytes,
                    std::size_t first_bucket_bytes = kFirstBucketBytes);

    /// Whether backward's per-layer notice can start the sums: not when a parameter belongs
    /// to two layers (its gradient is final only once both have run); reduce after backward.
    bool can_overlap() const { return can_overlap_; }
    /// Starts a step: the loss and every gradient are weighted by `weight` (this rank's share
    /// of the batch); places the gradients trainable now. Call before backward.
    void begin(float loss, float weight);
    /// Backward passed `layer`: its gradients (and those of the layers above, if not yet)
    /// into the buffer; starts the buckets now complete; lets the started ones progress.
    void gradients_done(std::size_t layer) override;
    /// After backward: the gradients not yet in, the started sums waited for, the rest of the
    /// buffer summed in one blocking allreduce, everything uploaded to the parameters'
    /// gradients. Returns the summed loss.
    float finish();
    /// The whole buffer in one blocking allreduce after backward (begin() first).
    float reduce_blocking();

    /// Floats summed per step (the loss included), and the buckets of their layout (those not
    /// started during backward are summed together by finish()'s one blocking allreduce).
    std::size_t values() const { return total_; }
    std::size_t buckets() const {
        return total_ <= first_ ? 1 : 1 + (total_ - first_ + bucket_ - 1) / bucket_;
    }
    /// Buckets the last step started with a layer's backward still to run (before the last
    /// notice): those that overlapped with backward.
    std::size_t started_in_backward() const { return started_in_backward_; }
    /// Summed over every step: seconds the calling thread spent on the sums (between layers,
    /// in finish() or reduce_blocking(); the gradients' way to the host and back included),
    /// and of them in finish()'s final wait.
    double seconds() const { return seconds_; }
    double wait_seconds() const { return wait_seconds_; }
    /// The fused buffer (slot 0: the loss), for tests.
    std::span<const float> buffer() const { return buffer_; }

private:
    /// Downloads, in reverse parameter order, every trainable gradient of a layer >= `layer`
    /// not yet in the buffer, and weights it.
    void take_down_to(std::size_t layer);
    void start_complete_buckets();
    /// The summed gradients back to the device; returns the summed loss.
    float upload_sums();

    Device& device_;
    const Sequential& model_;
    Communicator& communicator_;
    bool can_overlap_ = true;
    std::vector<float> buffer_;
    std::size_t first_ = 1;          // floats in the first bucket
    std::size_t bucket_ = 1;         // floats per later bucket
    std::size_t total_ = 0;          // floats this step (1 + trainable gradients)
    std::size_t filled_ = 0;         // buffer_[0, filled_) holds this step's values
    std::size_t started_ = 0;        // buffer_[0, started_) is being or was summed
    std::size_t next_param_ = 0;     // parameters [0, next_param_) not yet taken
    std::size_t count_ = 0;          // buckets started this step
    std::size_t started_early_ = 0;  // count_ before the last notice
    std::size_t started_in_backward_ = 0;
    std::vector<std::size_t> offset_;  // each parameter's place this step
    float weight_ = 1.0f;
    double seconds_ = 0.0, wait_seconds_ = 0.0;
};

}  // namespace plexus::core

#pragma GCC visibility pop
