#include "plexus/device.hpp"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
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

fused::KeySet Device::fused_keys() const {
    return {};
}

namespace {

// The operand checks every fused key gets before a device's run_fused sees it, so an
// out-of-tree device needs none of its own. They run once per step per parameter: the happy
// path is two compares per tensor; messages are built out of line, only on failure.
[[noreturn, gnu::cold, gnu::noinline]] void fail_foreign(const Device& device, fused::Key key,
                                                         const char* what) {
    throw DeviceError(device.name() + ": " + std::string(fused::key_name(key)) + ": tensor '" +
                      what +
                      "' is empty or lives on another device; allocate it with this device's "
                      "alloc()");
}

[[noreturn, gnu::cold, gnu::noinline]] void fail_size(const Device& device, fused::Key key,
                                                      const char* what, const Tensor& t,
                                                      std::size_t want) {
    throw DeviceError(device.name() + ": " + std::string(fused::key_name(key)) + ": '" + what +
                      "' has shape " + t.shape().str() + " (" + std::to_string(t.numel()) +
                      " elements) but " + std::to_string(want) + " elements are required");
}

struct OperandCheck {
    const Device& device;
    fused::Key key;

    // A tensor of this device with any number of elements (the one the others are sized by).
    void operator()(const Tensor& t, const char* what) const {
        if (t.device() != &device || t.empty()) [[unlikely]]
            fail_foreign(device, key, what);
    }
    void operator()(const Tensor& t, const char* what, std::size_t numel) const {
        (*this)(t, what);
        if (t.numel() != numel) [[unlikely]]
            fail_size(device, key, what, t, numel);
    }
    // An optional operand: null passes.
    void operator()(const Tensor* t, const char* what, std::size_t numel) const {
        if (t) (*this)(*t, what, numel);
    }
};

// Sizes as the field comments of plexus/fused.hpp give them: N = rows, F = cols of the
// first operand (over `spatial` for batchnorm).

// F of a batchnorm key: the columns of `x` over `spatial` (fused.hpp), which must divide them.
std::size_t batchnorm_features(const OperandCheck& check, const Tensor& x, const char* what,
                               std::size_t spatial) {
    check(x, what);
    if (spatial == 0 || x.cols() % spatial != 0) [[unlikely]]
        throw DeviceError(check.device.name() + ": " + std::string(fused::key_name(check.key)) +
                          ": '" + what + "' has shape " + x.shape().str() + " (" +
                          std::to_string(x.cols()) + " values per sample), not a whole number " +
                          "of features of spatial = " + std::to_string(spatial) +
                          " values; pass spatial >= 1 that divides them (H*W for NCHW)");
    return x.cols() / spatial;
}

void check_operands(const OperandCheck& check, const fused::BatchNormForwardTrain& o) {
    const std::size_t f = batchnorm_features(check, o.x, "x", o.spatial);
    const std::size_t n = o.x.rows(), values = o.x.numel();
    check(o.gamma, "gamma", f);
    check(o.beta, "beta", f);
    check(o.y, "y", values);
    check(o.xhat, "xhat", values);
    check(o.mean, "mean", f);
    check(o.invstd, "invstd", f);
    check(o.moving_mean, "moving_mean", f);
    check(o.moving_variance, "moving_variance", f);
    if (n * o.spatial < 2) [[unlikely]]
        throw DeviceError(check.device.name() +
                          ": batchnorm.forward_train: a training batch needs at least 2 rows, "
                          "got " +
                          o.x.shape().str());
}

void check_operands(const OperandCheck& check, const fused::BatchNormForwardInfer& o) {
    const std::size_t f = batchnorm_features(check, o.x, "x", o.spatial);
    check(o.gamma, "gamma", f);
    check(o.beta, "beta", f);
    check(o.moving_mean, "moving_mean", f);
    check(o.moving_variance, "moving_variance", f);
    check(o.y, "y", o.x.numel());
}

void check_operands(const OperandCheck& check, const fused::BatchNormBackward& o) {
    const std::size_t f = batchnorm_features(check, o.dy, "dy", o.spatial);
    const std::size_t values = o.dy.numel();
    check(o.xhat, "xhat", values);
    check(o.gamma, "gamma", f);
    check(o.invstd, "invstd", f);
    check(o.dx, "dx", values);
    check(o.dgamma, "dgamma", f);
    check(o.dbeta, "dbeta", f);
}

void check_operands(const OperandCheck& check, const fused::SoftmaxCrossEntropyBackward& o) {
    check(o.pred, "pred");
    check(o.target, "target", o.pred.numel());
    check(o.dpred, "dpred", o.pred.numel());
}

void check_operands(const OperandCheck& check, const fused::AdamUpdate& o) {
    const std::size_t n = o.grad.numel();
    check(o.grad, "grad");
    check(o.value, "value", n);
    check(o.m, "m", n);
    check(o.v, "v", n);
    check(o.v_max, "v_max", n);
}

void check_operands(const OperandCheck& check, const fused::SgdMomentumUpdate& o) {
    const std::size_t n = o.grad.numel();
    check(o.grad, "grad");
    check(o.value, "value", n);
    check(o.velocity, "velocity", n);
}

// The conv2d keys: the window is checked as the window ops check it, and its batch is x's.
void check_conv2d(const OperandCheck& check, const Tensor& x, const Tensor& kernel,
                  const Window2d& w, std::size_t filters) {
    // key_name views a string literal, so its data() is NUL-terminated.
    check.device.check_window(w, fused::key_name(check.key).data());
    check(x, "x", w.batch * w.channels * w.in_plane());
    if (x.rows() != w.batch || filters == 0) [[unlikely]]
        throw DeviceError(check.device.name() + ": " + std::string(fused::key_name(check.key)) +
                          ": 'x' has shape " + x.shape().str() + " but the window's batch is " +
                          std::to_string(w.batch) + " and filters " + std::to_string(filters) +
                          "; pass window.batch = x.rows() and filters >= 1");
    check(kernel, "kernel", filters * w.patch());
}

void check_operands(const OperandCheck& check, const fused::Conv2dForward& o) {
    const Window2d w = o.window;
    check_conv2d(check, o.x, o.kernel, w, o.filters);
    check(o.bias, "bias", o.filters);
    check(o.y, "y", w.batch * o.filters * w.out_plane());
}

void check_operands(const OperandCheck& check, const fused::Conv2dBackward& o) {
    const Window2d w = o.window;
    check_conv2d(check, o.x, o.kernel, w, o.filters);
    check(o.dy, "dy", w.batch * o.filters * w.out_plane());
    check(o.dx, "dx", o.x.numel());
    check(o.dkernel, "dkernel", o.kernel.numel());
    check(o.dbias, "dbias", o.filters);
}

// The recurrent cells: N and H from the state tensor `state`, gate blocks [N, G*H].
void check_cell(const OperandCheck& check, const Tensor& state, const char* what,
                fused::Activation a, fused::Activation ra) {
    check(state, what);
    if (a >= fused::Activation::count || ra >= fused::Activation::count) [[unlikely]]
        throw DeviceError(check.device.name() + ": " + std::string(fused::key_name(check.key)) +
                          ": unknown activation; pass tanh, sigmoid, relu or linear");
}

void check_operands(const OperandCheck& check, const fused::LstmCellForward& o) {
    check_cell(check, o.c_prev, "c_prev", o.activation, o.recurrent_activation);
    const std::size_t nh = o.c_prev.numel(), h = o.c_prev.cols();
    check(o.gates, "gates", 4 * nh);
    check(o.bias, "bias", 4 * h);
    check(o.c, "c", nh);
    check(o.h, "h", nh);
}

void check_operands(const OperandCheck& check, const fused::LstmCellBackward& o) {
    check_cell(check, o.c_prev, "c_prev", o.activation, o.recurrent_activation);
    const std::size_t nh = o.c_prev.numel();
    check(o.gates, "gates", 4 * nh);
    check(o.c, "c", nh);
    check(o.dh, "dh", nh);
    check(o.dc, "dc", nh);
    check(o.dgates, "dgates", 4 * nh);
}

void check_operands(const OperandCheck& check, const fused::GruCellForward& o) {
    check_cell(check, o.h_prev, "h_prev", o.activation, o.recurrent_activation);
    const std::size_t nh = o.h_prev.numel(), h = o.h_prev.cols();
    check(o.gates, "gates", 3 * nh);
    check(o.bias, "bias", 3 * h);
    check(o.recurrent, "recurrent", 3 * nh);
    check(o.recurrent_bias, "recurrent_bias", 3 * h);
    check(o.h, "h", nh);
}

void check_operands(const OperandCheck& check, const fused::GruCellBackward& o) {
    check_cell(check, o.h_prev, "h_prev", o.activation, o.recurrent_activation);
    const std::size_t nh = o.h_prev.numel();
    check(o.gates, "gates", 3 * nh);
    check(o.recurrent, "recurrent", 3 * nh);
    check(o.dh, "dh", nh);
    check(o.dh_prev, "dh_prev", nh);
    check(o.dgates, "dgates", 3 * nh);
    check(o.drecurrent, "drecurrent", 3 * nh);
}

}  // namespace

template <class Op>
bool Device::dispatch_fused(const Op& op) {
    if (!fused_keys().contains(Op::kKey)) return false;
    check_operands(OperandCheck{*this, Op::kKey}, op);
    run_fused(op);
    ++counters_.fused_runs[static_cast<std::size_t>(Op::kKey)];
    return true;
}

bool Device::try_fused(const fused::BatchNormForwardTrain& op) {
    return dispatch_fused(op);
}
bool Device::try_fused(const fused::BatchNormForwardInfer& op) {
    return dispatch_fused(op);
}
bool Device::try_fused(const fused::BatchNormBackward& op) {
    return dispatch_fused(op);
}
bool Device::try_fused(const fused::SoftmaxCrossEntropyBackward& op) {
    return dispatch_fused(op);
}
bool Device::try_fused(const fused::AdamUpdate& op) {
    return dispatch_fused(op);
}
bool Device::try_fused(const fused::SgdMomentumUpdate& op) {
    return dispatch_fused(op);
}
bool Device::try_fused(const fused::Conv2dForward& op) {
    return dispatch_fused(op);
}
bool Device::try_fused(const fused::Conv2dBackward& op) {
    return dispatch_fused(op);
}
bool Device::try_fused(const fused::LstmCellForward& op) {
    return dispatch_fused(op);
}
bool Device::try_fused(const fused::LstmCellBackward& op) {
    return dispatch_fused(op);
}
bool Device::try_fused(const fused::GruCellForward& op) {
    return dispatch_fused(op);
}
bool Device::try_fused(const fused::GruCellBackward& op) {
    return dispatch_fused(op);
}

namespace {
[[noreturn]] void unimplemented(const Device& device, fused::Key key) {
    throw DeviceError(device.name() + ": lists the fused key '" +
                      std::string(fused::key_name(key)) +
                      "' in fused_keys() but does not override run_fused for it");
}
}  // namespace

void Device::run_fused(const fused::BatchNormForwardTrain& op) {
    unimplemented(*this, op.kKey);
}
void Device::run_fused(const fused::BatchNormForwardInfer& op) {
    unimplemented(*this, op.kKey);
}
void Device::run_fused(const fused::BatchNormBackward& op) {
    unimplemented(*this, op.kKey);
}
void Device::run_fused(const fused::SoftmaxCrossEntropyBackward& op) {
    unimplemented(*this, op.kKey);
}
void Device::run_fused(const fused::AdamUpdate& op) {
    unimplemented(*this, op.kKey);
}
void Device::run_fused(const fused::SgdMomentumUpdate& op) {
    unimplemented(*this, op.kKey);
}
void Device::run_fused(const fused::Conv2dForward& op) {
    unimplemented(*this, op.kKey);
}
void Device::run_fused(const fused::Conv2dBackward& op) {
    unimplemented(*this, op.kKey);
}
void Device::run_fused(const fused::LstmCellForward& op) {
    unimplemented(*this, op.kKey);
}
void Device::run_fused(const fused::LstmCellBackward& op) {
    unimplemented(*this, op.kKey);
}
void Device::run_fused(const fused::GruCellForward& op) {
    unimplemented(*this, op.kKey);
}
void Device::run_fused(const fused::GruCellBackward& op) {
    unimplemented(*this, op.kKey);
}

}  // namespace plexus
