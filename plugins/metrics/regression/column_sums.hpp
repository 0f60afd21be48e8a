// Per-column sums of a few statistics (|error|, error², ...) for the regression metrics:
// added up on the device batch after batch, moved into double totals on the host every few
// thousand rows and when read. An update then queues its kernels and returns without waiting
// (a training step on a GPU waits only for its loss), while float rounding is confined to a
// stretch of at most kFlushRows rows; everything beyond that adds up in double.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "plexus/plexus.hpp"

namespace plexus_regression {

class ColumnSums {
public:
    // Rows summed in float on the device before the sums move to the host: float keeps about
    // 7 digits, so the relative rounding of a sum of a few thousand rows stays near 1e-6
    // (1e-4 at worst), far below the precision any metric is reported with.
    static constexpr std::size_t kFlushRows = 4096;

    // Allocates zeroed device sums of `stats` statistics × `cols` columns.
    void build(plexus::Device& device, std::size_t stats, std::size_t cols) {
        device_ = &device;
        cols_ = cols;
        sums_ = device.alloc({stats, cols});
        device.fill(sums_, 0.0f);
        host_.assign(stats * cols, 0.0f);
        totals_.assign(stats * cols, 0.0);
        pending_rows_ = rows_ = 0;
    }

    // Forgets everything; works before build() too.
    void reset() {
        totals_.assign(totals_.size(), 0.0);
        if (pending_rows_) device_->fill(sums_, 0.0f);
        pending_rows_ = rows_ = 0;
    }

    // Adds one batch of `rows` rows: `batch` is [stats, cols], row s the batch's column sums
    // of statistic s. One device op, no transfer unless the flush is due.
    void add(const plexus::Tensor& batch, std::size_t rows) {
        if (pending_rows_ + rows > kFlushRows) flush();
        device_->binary(plexus::BinaryOp::add, sums_, batch, sums_);
        pending_rows_ += rows;
        rows_ += rows;
    }

    // Rows added since reset().
    std::uint64_t rows() const { return rows_; }

    // The total of statistic `stat` in column `col` since reset().
    double total(std::size_t stat, std::size_t col) const {
        flush();
        return totals_[stat * cols_ + col];
    }

private:
    void flush() const {
        if (!pending_rows_) return;
        device_->download(sums_, host_);
        for (std::size_t i = 0; i < totals_.size(); ++i) totals_[i] += host_[i];
        device_->fill(sums_, 0.0f);
        pending_rows_ = 0;
    }

    plexus::Device* device_ = nullptr;
    std::size_t cols_ = 0;
    plexus::Tensor sums_;                   // [stats, cols] on the device, since the last flush
    mutable std::vector<float> host_;       // reused by every flush
    mutable std::vector<double> totals_;    // [stats, cols], flushed sums since reset()
    mutable std::size_t pending_rows_ = 0;  // rows in sums_; sums_ is zero whenever this is
    std::uint64_t rows_ = 0;
};

}  // namespace plexus_regression
