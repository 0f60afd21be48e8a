#include "plexus/device.hpp"

#include <cstdint>
#include <string>

#include "plexus/error.hpp"

namespace plexus {

Tensor Tensor::rows(std::size_t begin, std::size_t count) const {
    if (begin + count > shape_.rows())
        throw ShapeError("row view [" + std::to_string(begin) + ", " +
                         std::to_string(begin + count) + ") outside a tensor of shape " +
                         shape_.str());
    return Tensor(device_, storage_, offset_ + begin * shape_.cols(), shape_.with_rows(count));
}

Tensor Tensor::reshaped(const Shape& shape) const {
    if (shape.numel() != numel())
        throw ShapeError("cannot reshape " + shape_.str() + " to " + shape.str());
    return Tensor(device_, storage_, offset_, shape);
}

Device::Device() = default;
Device::~Device() = default;

Tensor Device::alloc(const Shape& shape) {
    std::size_t count = 1;
    for (std::size_t i = 0; i < shape.rank(); ++i)
        if (__builtin_mul_overflow(count, shape[i], &count) || count > SIZE_MAX / sizeof(float))
            throw DeviceError(name() + ": cannot allocate a tensor of shape " + shape.str() +
                              ": too large (use fewer units or a smaller batch)");
    const std::size_t bytes = count * sizeof(float);
    void* handle = allocate(bytes ? bytes : sizeof(float));
    ++counters_.allocations;
    counters_.alloc_bytes += bytes;
    counters_.live_bytes += bytes;
    // The deleter is core code, so it stays valid whatever plugin made the device; the
    // device must outlive its tensors (owners destroy models before devices).
    std::shared_ptr<void> storage(handle, [this, bytes](void* h) {
        counters_.live_bytes -= bytes;
        deallocate(h);
    });
    return Tensor(this, std::move(storage), 0, shape);
}

void Device::upload(const Tensor& dst, std::span<const float> src) {
    if (dst.device() != this) throw DeviceError("upload: tensor lives on another device");
    if (src.size() != dst.numel())
        throw DeviceError("upload: " + std::to_string(src.size()) + " values into a tensor of " +
                          dst.shape().str());
    const std::size_t bytes = src.size() * sizeof(float);
    write(dst.handle(), dst.offset() * sizeof(float), src.data(), bytes);
    counters_.h2d_bytes += bytes;
}

void Device::download(const Tensor& src, std::span<float> dst) {
    if (src.device() != this) throw DeviceError("download: tensor lives on another device");
    if (dst.size() != src.numel())
        throw DeviceError("download: tensor of " + src.shape().str() + " into " +
                          std::to_string(dst.size()) + " values");
    const std::size_t bytes = dst.size() * sizeof(float);
    read(src.handle(), src.offset() * sizeof(float), dst.data(), bytes);
    counters_.d2h_bytes += bytes;
}

float Device::download_scalar(const Tensor& src) {
    float value = 0.0f;
    download(src, std::span<float>(&value, 1));
    return value;
}

void Device::reset_counters() {
    const std::uint64_t live = counters_.live_bytes;
    counters_ = DeviceCounters{};
    counters_.live_bytes = live;
}

fused::KeySet Device::fused_keys() const { return {}; }

template <class Op>
bool Device::dispatch_fused(const Op& op) {
    if (!fused_keys().contains(Op::kKey)) return false;
    run_fused(op);
    ++counters_.fused_runs[static_cast<std::size_t>(Op::kKey)];
    return true;
}

bool Device::try_fused(const fused::BatchNormForwardTrain& op) { return dispatch_fused(op); }
bool Device::try_fused(const fused::BatchNormForwardInfer& op) { return dispatch_fused(op); }
bool Device::try_fused(const fused::BatchNormBackward& op) { return dispatch_fused(op); }
bool Device::try_fused(const fused::SoftmaxCrossEntropyBackward& op) { return dispatch_fused(op); }
bool Device::try_fused(const fused::AdamUpdate& op) { return dispatch_fused(op); }
bool Device::try_fused(const fused::SgdMomentumUpdate& op) { return dispatch_fused(op); }

namespace {
[[noreturn]] void unimplemented(const Device& device, fused::Key key) {
    throw DeviceError(device.name() + ": lists the fused key '" +
                      std::string(fused::key_name(key)) +
                      "' in fused_keys() but does not override run_fused for it");
}
}  // namespace

void Device::run_fused(const fused::BatchNormForwardTrain& op) { unimplemented(*this, op.kKey); }
void Device::run_fused(const fused::BatchNormForwardInfer& op) { unimplemented(*this, op.kKey); }
void Device::run_fused(const fused::BatchNormBackward& op) { unimplemented(*this, op.kKey); }
void Device::run_fused(const fused::SoftmaxCrossEntropyBackward& op) {
    unimplemented(*this, op.kKey);
}
void Device::run_fused(const fused::AdamUpdate& op) { unimplemented(*this, op.kKey); }
void Device::run_fused(const fused::SgdMomentumUpdate& op) { unimplemented(*this, op.kKey); }

}  // namespace plexus
