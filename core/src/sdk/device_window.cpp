// The window ops of Device (plexus/device.hpp): the geometry and operand checks every device
// gets before its run_* implementation sees the operands.
#include <cstddef>
#include <initializer_list>
#include <string>

#include "plexus/device.hpp"
#include "plexus/error.hpp"

namespace plexus {

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
