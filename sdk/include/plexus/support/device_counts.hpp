// Whole-number counts summed on the device across a metric's updates and brought to the host
// only when a result is read (accuracy, top_k_accuracy, the classification metrics). An
// update then queues its kernels and returns without waiting, so a training step on a GPU
// waits for nothing but its loss.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "plexus/device.hpp"
#include "plexus/export.hpp"
#include "plexus/tensor.hpp"

namespace plexus::support {

class PLEXUS_API DeviceCounts {
public:
    /// Allocates the device sums of `n` counts on `device`, zeroed (in the metric's build()).
    /// Requires: `device` outlives this object or the next build().
    void build(Device& device, std::size_t n);

    /// Zeroes every count. Works before build() too: nothing is pending then.
    void reset();

    /// Adds a batch's counts: `batch` holds n whole numbers (any shape), none above `rows`,
    /// the batch's row count. Requires build(). One device op and no transfer, except that
    /// the sums are brought over first when `rows` more could take them past 2^24, where a
    /// float stops counting exactly.
    void add(const Tensor& batch, std::size_t rows);

    /// The n totals since reset(); downloads the device sums first if any are pending.
    const std::vector<std::uint64_t>& counts() const;

private:
    // Moves the device sums into the host totals and zeroes them. Invariant: the device
    // sums are zero whenever pending_rows_ is.
    void flush() const;

    Device* device_ = nullptr;
    Tensor sums_;                                // [n] on the device
    mutable std::vector<float> host_;            // [n], reused by every flush
    mutable std::vector<std::uint64_t> counts_;  // [n], flushed totals since reset()
    mutable std::size_t pending_rows_ = 0;       // rows added to sums_ since the last flush
};

}  // namespace plexus::support
