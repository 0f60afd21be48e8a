#include "plexus/support/device_counts.hpp"

#include <cmath>

namespace plexus::support {
namespace {
constexpr std::size_t kExactRows = std::size_t{1} << 24;
}  // namespace

void DeviceCounts::build(Device& device, std::size_t n) {
    device_ = &device;
    sums_ = device.alloc({n});
    device.fill(sums_, 0.0f);
    host_.assign(n, 0.0f);
    counts_.assign(n, 0);
    pending_rows_ = 0;
}

void DeviceCounts::reset() {
    counts_.assign(counts_.size(), 0);
    if (pending_rows_) device_->fill(sums_, 0.0f);
    pending_rows_ = 0;
}

void DeviceCounts::add(const Tensor& batch, std::size_t rows) {
    if (pending_rows_ + rows > kExactRows) flush();
    device_->binary(BinaryOp::add, sums_, batch, sums_);
    pending_rows_ += rows;
}

const std::vector<std::uint64_t>& DeviceCounts::counts() const {
    flush();
    return counts_;
}

void DeviceCounts::flush() const {
    if (!pending_rows_) return;
    device_->download(sums_, host_);
    for (std::size_t i = 0; i < counts_.size(); ++i)
        counts_[i] += static_cast<std::uint64_t>(std::llround(host_[i]));
    device_->fill(sums_, 0.0f);
    pending_rows_ = 0;
}

}  // namespace plexus::support
