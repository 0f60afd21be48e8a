// Metrics read float targets in the target's own units: before a metric sees a batch, the
// target transform is inverted (and a relative window's base added back) on the device.
#pragma once

#include <utility>

#include "plexus/core/data/targets.hpp"
#include "plexus/device.hpp"

#pragma GCC visibility push(default)

namespace plexus::core {

class TargetUnits {
public:
    /// Buffers for batches of up to `rows` rows of `scaler.width()` columns. With an identity
    /// scaler and no base, to_units() hands y and t back unchanged and nothing is allocated.
    void build(Device& device, const TargetScaler& scaler, std::size_t rows, bool base);
    /// Nothing to invert.
    bool passthrough() const { return !active_; }

    /// y and t (rows n) in target units: views of buffers sized in build(), valid until the
    /// next call. `base` (host, n rows, or nullptr) is uploaded and added when given.
    /// Allocates nothing.
    std::pair<Tensor, Tensor> to_units(const Tensor& y, const Tensor& t, const float* base);

private:
    bool active_ = false;
    Device* device_ = nullptr;
    Tensor scale_, offset_, base_, y_, t_;
};

}  // namespace plexus::core

#pragma GCC visibility pop
