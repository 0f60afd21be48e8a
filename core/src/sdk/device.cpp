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


// ---- window ops

namespace {

[[noreturn, gnu::cold, gnu::noinline]] void fail_window(const Device& device, const char* op,
                                                        const std::string& why) {
    throw DeviceError(device.name() + ": " + op + ": " + why);
}

// a * b * ..., or fail naming the op when the product overflows.
std::size_t product(const Device& device, const char* op, std::initializer_list<std::size_t> xs) {
    std::size_t n = 1;
    for (std::size_t x : xs)
        if (__builtin_mul_overflow(n, x, &n)) fail_window(device, op, "sizes overflow");
    return n;
}

// True when every window along one axis holds an in-bounds tap.
bool every_window_touches_input(std::size_t in, std::size_t kernel, std::size_t stride,
                                std::size_t dilation, std::size_t pad, std::size_t out) {
    for (std::size_t o = 0; o < out; ++o) {
        bool touches = false;
        for (std::size_t i = 0; i < kernel && !touches; ++i) {
            const std::size_t pos = o * stride + i * dilation;  // shifted by pad
            touches = pos >= pad && pos - pad < in;
        }
        if (!touches) return false;
    }
    return true;
}

void check_tensor(const Device& device, const char* op, const Tensor& t, const char* what,
                  std::size_t numel) {
    if (t.device() != &device || t.empty()) [[unlikely]]
        fail_window(device, op,
                    std::string("tensor '") + what +
                        "' is empty or lives on another device; allocate it with this "
                        "device's alloc()");
    if (t.numel() != numel) [[unlikely]]
        fail_window(device, op,
                    std::string("'") + what + "' has shape " + t.shape().str() + " (" +
                        std::to_string(t.numel()) + " elements) but " + std::to_string(numel) +
                        " elements are required");
}

// Same buffer and overlapping element ranges.
bool overlap(const Tensor& a, const Tensor& b) {
    return a.handle() == b.handle() && a.offset() < b.offset() + b.numel() &&
           b.offset() < a.offset() + a.numel();
}

}  // namespace

void Device::check_window(const Window2d& w, const char* op) const {
    const auto text = [&] {
        return "window N=" + std::to_string(w.batch) + " C=" + std::to_string(w.channels) +
               " H=" + std::to_string(w.height) + " W=" + std::to_string(w.width) +
               " kernel=" + std::to_string(w.kernel_h) + "x" + std::to_string(w.kernel_w) +
               " stride=" + std::to_string(w.stride_h) + "x" + std::to_string(w.stride_w) +
               " dilation=" + std::to_string(w.dilation_h) + "x" + std::to_string(w.dilation_w) +
               " pad=" + std::to_string(w.pad_top) + "," + std::to_string(w.pad_left) +
               " out=" + std::to_string(w.out_h) + "x" + std::to_string(w.out_w);
    };
    for (std::size_t v : {w.batch, w.channels, w.height, w.width, w.kernel_h, w.kernel_w,
                          w.stride_h, w.stride_w, w.dilation_h, w.dilation_w, w.out_h, w.out_w})
        if (v == 0) fail_window(*this, op, text() + ": every size must be at least 1");
    for (std::size_t v : {w.height, w.width, w.kernel_h, w.kernel_w, w.stride_h, w.stride_w,
                          w.dilation_h, w.dilation_w, w.pad_top, w.pad_left, w.out_h, w.out_w})
        if (v > (std::size_t{1} << 24))
            fail_window(*this, op, text() + ": a size above 2^24");
    if (w.in_plane() > (std::size_t{1} << 24) || w.out_plane() > (std::size_t{1} << 24))
        fail_window(*this, op, text() + ": a plane of more than 2^24 elements");
    const std::size_t span_h = w.dilation_h * (w.kernel_h - 1) + 1;
    const std::size_t span_w = w.dilation_w * (w.kernel_w - 1) + 1;
    if (w.pad_top >= span_h || w.pad_left >= span_w)
        fail_window(*this, op, text() + ": padding must be smaller than the dilated kernel");
    if (!every_window_touches_input(w.height, w.kernel_h, w.stride_h, w.dilation_h, w.pad_top,
                                    w.out_h) ||
        !every_window_touches_input(w.width, w.kernel_w, w.stride_w, w.dilation_w, w.pad_left,
                                    w.out_w))
        fail_window(*this, op, text() + ": a window lies wholly in the padding");
}

void Device::im2col(const Tensor& x, const Tensor& col, const Window2d& w) {
    check_window(w, "im2col");
    check_tensor(*this, "im2col", x, "x",
                 product(*this, "im2col", {w.batch, w.channels, w.in_plane()}));
    check_tensor(*this, "im2col", col, "col",
                 product(*this, "im2col", {w.batch, w.out_plane(), w.patch()}));
    if (overlap(x, col)) fail_window(*this, "im2col", "col overlaps x");
    run_im2col(x, col, w);
}

void Device::col2im(const Tensor& col, const Tensor& x, const Window2d& w) {
    check_window(w, "col2im");
    check_tensor(*this, "col2im", col, "col",
                 product(*this, "col2im", {w.batch, w.out_plane(), w.patch()}));
    check_tensor(*this, "col2im", x, "x",
                 product(*this, "col2im", {w.batch, w.channels, w.in_plane()}));
    if (overlap(x, col)) fail_window(*this, "col2im", "x overlaps col");
    run_col2im(col, x, w);
}

void Device::pool2d(PoolOp op, const Tensor& x, const Tensor& y, const Tensor& argmax,
                    const Window2d& w) {
    if (op >= PoolOp::count) fail_window(*this, "pool2d", "unknown pooling op");
    check_window(w, "pool2d");
    const std::size_t out = product(*this, "pool2d", {w.batch, w.channels, w.out_plane()});
    check_tensor(*this, "pool2d", x, "x",
                 product(*this, "pool2d", {w.batch, w.channels, w.in_plane()}));
    check_tensor(*this, "pool2d", y, "y", out);
    if (overlap(x, y)) fail_window(*this, "pool2d", "y overlaps x");
    if (!argmax.empty()) {
        check_tensor(*this, "pool2d", argmax, "argmax", out);
        if (overlap(argmax, x) || overlap(argmax, y))
            fail_window(*this, "pool2d", "argmax overlaps x or y");
    }
    run_pool2d(op, x, y, argmax, w);
}

void Device::pool2d_backward(PoolOp op, const Tensor& dy, const Tensor& argmax, const Tensor& dx,
                             const Window2d& w) {
    if (op >= PoolOp::count) fail_window(*this, "pool2d_backward", "unknown pooling op");
    check_window(w, "pool2d_backward");
    const std::size_t out =
        product(*this, "pool2d_backward", {w.batch, w.channels, w.out_plane()});
    check_tensor(*this, "pool2d_backward", dy, "dy", out);
    check_tensor(*this, "pool2d_backward", dx, "dx",
                 product(*this, "pool2d_backward", {w.batch, w.channels, w.in_plane()}));
    if (overlap(dx, dy)) fail_window(*this, "pool2d_backward", "dx overlaps dy");
    if (op == PoolOp::max || !argmax.empty()) {
        check_tensor(*this, "pool2d_backward", argmax, "argmax", out);
        if (overlap(argmax, dx)) fail_window(*this, "pool2d_backward", "dx overlaps argmax");
    }
    run_pool2d_backward(op, dy, argmax, dx, w);
}

void Device::transpose(const Tensor& x, const Tensor& y, std::size_t batch, std::size_t rows,
                       std::size_t cols, std::size_t inner) {
    const std::size_t n = product(*this, "transpose", {batch, rows, cols, inner});
    check_tensor(*this, "transpose", x, "x", n);
    check_tensor(*this, "transpose", y, "y", n);
    if (overlap(x, y)) fail_window(*this, "transpose", "y overlaps x");
    run_transpose(x, y, batch, rows, cols, inner);
}

}  // namespace plexus
