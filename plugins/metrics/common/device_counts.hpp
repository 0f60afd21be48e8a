// Shared by the streaming metrics (accuracy, top_k_accuracy, the classification metrics):
// whole-number counts summed on the device across updates and brought to the host only
// when a result is read. An update then queues its kernels and returns without waiting, so
// a training step on a GPU waits for nothing but its loss. Header-only, like class_rows.hpp.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "plexus/device.hpp"
#include "plexus/tensor.hpp"

namespace plexus::metrics {

class DeviceCounts {
public:
    /// Allocates the device sums of `n` counts, zeroed (in the metric's build()).
    void build(Device& device, std::size_t n) {
        device_ = &device;
        sums_ = device.alloc({n});
        device.fill(sums_, 0.0f);
        host_.assign(n, 0.0f);
        counts_.assign(n, 0);
        pending_rows_ = 0;
    }

    /// Zeroes every count (before build() too: nothing is pending then).
    void reset() {
        counts_.assign(counts_.size(), 0);
        if (pending_rows_) device_->fill(sums_, 0.0f);
        pending_rows_ = 0;
    }

    /// Adds a batch's counts: `batch` holds n whole numbers (any shape), none above `rows`,
    /// the batch's row count. One device op, no transfer, except that the sums are brought
    /// over first when `rows` more could take them past 2^24, where float stops counting
    /// exactly.
    void add(const Tensor& batch, std::size_t rows) {
        if (pending_rows_ + rows > kExactRows) flush();
        device_->binary(BinaryOp::add, sums_, batch, sums_);
        pending_rows_ += rows;
    }

    /// The totals since reset(); downloads the device sums first if any are pending.
    const std::vector<std::uint64_t>& counts() const {
        flush();
        return counts_;
    }

private:
    static constexpr std::size_t kExactRows = std::size_t{1} << 24;

    // Moves the device sums into the host totals and zeroes them. Invariant: the device
    // sums are zero whenever pending_rows_ is.
    void flush() const {
        if (!pending_rows_) return;
        device_->download(sums_, host_);
        for (std::size_t i = 0; i < counts_.size(); ++i)
            counts_[i] += static_cast<std::uint64_t>(std::llround(host_[i]));
        device_->fill(sums_, 0.0f);
        pending_rows_ = 0;
    }

    Device* device_ = nullptr;
    Tensor sums_;                                 // [n] on the device
    mutable std::vector<float> host_;             // [n], reused by every flush
    mutable std::vector<std::uint64_t> counts_;   // [n], flushed totals since reset()
    mutable std::size_t pending_rows_ = 0;        // rows added to sums_ since the last flush
};

}  // namespace plexus::metrics
