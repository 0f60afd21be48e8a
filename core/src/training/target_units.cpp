#include "plexus/core/training/target_units.hpp"

#include <span>

namespace plexus::core {

void TargetUnits::build(Device& device, const TargetScaler& scaler, std::size_t rows, bool base) {
    device_ = &device;
    active_ = !scaler.is_identity() || base;
    if (!active_) return;
    const std::size_t k = scaler.width();
    scale_ = device.alloc(Shape{k});
    offset_ = device.alloc(Shape{k});
    device.upload(scale_, std::span<const float>(scaler.scale()));
    device.upload(offset_, std::span<const float>(scaler.offset()));
    if (base) base_ = device.alloc(Shape{rows, k});
    y_ = device.alloc(Shape{rows, k});
    t_ = device.alloc(Shape{rows, k});
}

std::pair<Tensor, Tensor> TargetUnits::to_units(const Tensor& y, const Tensor& t,
                                                const float* base) {
    if (!active_) return {y, t};
    const std::size_t n = y.rows();
    const Tensor yu = y_.rows(0, n).reshaped(y.shape()), tu = t_.rows(0, n).reshaped(t.shape());
    Tensor b;
    if (base && !base_.empty()) {
        b = base_.rows(0, n).reshaped(y.shape());
        device_->upload(b, std::span<const float>(base, y.numel()));
    }
    for (const auto& [from, to] : {std::pair{&y, &yu}, std::pair{&t, &tu}}) {
        device_->binary(BinaryOp::mul, *from, scale_, *to);
        device_->binary(BinaryOp::add, *to, offset_, *to);
        if (!b.empty()) device_->binary(BinaryOp::add, *to, b, *to);
    }
    return {yu, tu};
}

}  // namespace plexus::core
