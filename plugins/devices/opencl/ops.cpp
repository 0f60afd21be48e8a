// The OpenCL device's primitive ops other than GEMM: argument checks as the CPU device makes
// them, then one kernel launch each (kernels/*.cl). Nothing here waits for the device.
#include <cmath>
#include <string>

#include "opencl_device.hpp"

namespace plexus_opencl {

using plexus::Axis;
using plexus::BinaryOp;
using plexus::Distribution;
using plexus::ReduceOp;
using plexus::Tensor;
using plexus::UnaryOp;

// unary.cl, binary.cl, reduce_*.cl and random.cl switch on these numbers.
static_assert(static_cast<int>(UnaryOp::scale) == 1 && static_cast<int>(UnaryOp::relu) == 9 &&
              static_cast<int>(UnaryOp::sign) == 12 && static_cast<int>(UnaryOp::clip) == 15 &&
              static_cast<int>(UnaryOp::reciprocal) == 16 && plexus::kUnaryOpCount == 17);
static_assert(static_cast<int>(BinaryOp::div) == 3 && static_cast<int>(BinaryOp::equal) == 6 &&
              static_cast<int>(BinaryOp::relu_backward) == 7 &&
              static_cast<int>(BinaryOp::tanh_backward) == 11 &&
              static_cast<int>(BinaryOp::greater) == 12 && plexus::kBinaryOpCount == 13);
static_assert(static_cast<int>(ReduceOp::sum) == 0 && static_cast<int>(ReduceOp::mean) == 1 &&
              static_cast<int>(ReduceOp::max) == 2 && static_cast<int>(ReduceOp::argmax) == 3 &&
              plexus::kReduceOpCount == 4);
static_assert(static_cast<int>(Distribution::uniform) == 0 &&
              static_cast<int>(Distribution::normal) == 1 &&
              static_cast<int>(Distribution::bernoulli) == 2 && plexus::kDistributionCount == 3);

namespace {
cl_uint u32(std::size_t n) { return static_cast<cl_uint>(n); }  // allocate() bounds sizes
}  // namespace

void OpenClDevice::fill(const Tensor& y, float value) {
    const View vy = view(y, "fill", "y");
    launch_1d(Kernel::fill, "fill", y.numel(), vy, u32(y.numel()), value);
}

void OpenClDevice::copy(const Tensor& x, const Tensor& y) {
    const View vx = view(x, "copy", "x"), vy = view(y, "copy", "y");
    require_numel("copy", "y", y, x.numel());
    const std::size_t bytes = x.numel() * sizeof(float);
    if (!bytes || (vx.mem == vy.mem && vx.offset == vy.offset)) return;
    cl_int err = CL_SUCCESS;
    if (!overlaps(x, y)) {
        err = clEnqueueCopyBuffer(queue_, vx.mem, vy.mem, vx.offset * sizeof(float),
                                  vy.offset * sizeof(float), bytes, 0, nullptr, nullptr);
        if (err != CL_SUCCESS) [[unlikely]]
            fail_enqueue(err, "copy");
        return;
    }
    // Overlapping views of one buffer (memmove): OpenCL refuses overlapping copies, so go
    // through a scratch buffer; released at once, the runtime keeps it until the copies ran.
    cl_mem scratch = clCreateBuffer(context_, CL_MEM_READ_WRITE, bytes, nullptr, &err);
    if (err != CL_SUCCESS) [[unlikely]]
        fail_enqueue(err, "copy");
    err = clEnqueueCopyBuffer(queue_, vx.mem, scratch, vx.offset * sizeof(float), 0, bytes, 0,
                              nullptr, nullptr);
    if (err == CL_SUCCESS)
        err = clEnqueueCopyBuffer(queue_, scratch, vy.mem, 0, vy.offset * sizeof(float), bytes,
                                  0, nullptr, nullptr);
    clReleaseMemObject(scratch);
    if (err != CL_SUCCESS) [[unlikely]]
        fail_enqueue(err, "copy");
}

void OpenClDevice::unary(UnaryOp op, const Tensor& x, const Tensor& y, float alpha) {
    const View vx = view(x, "unary", "x"), vy = view(y, "unary", "y");
    const std::size_t n = x.numel();
    require_numel("unary", "y", y, n);
    if (op > UnaryOp::reciprocal) [[unlikely]]
        fail("unary: unknown op " + std::to_string(static_cast<int>(op)));
    if (op == UnaryOp::identity) return copy(x, y);
    launch_1d(Kernel::unary, "unary", n, vx, vy, u32(n), static_cast<cl_int>(op), alpha);
}

void OpenClDevice::binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& y,
                          float alpha) {
    const View va = view(a, "binary", "a"), vb = view(b, "binary", "b"),
               vy = view(y, "binary", "y");
    const std::size_t cols = a.cols(), n = a.numel(), nb = b.numel();
    require_numel("binary", "y", y, n);
    if (nb != n && nb != cols && nb != 1) [[unlikely]]
        fail("binary: 'b' has shape " + b.shape().str() + " but 'a' has shape " +
             a.shape().str() + "; b needs " + std::to_string(n) + " elements (elementwise), " +
             std::to_string(cols) + " (one row, broadcast) or 1 (a scalar)");
    if (nb != n && overlaps(y, b)) [[unlikely]]
        fail("binary: y overlaps the broadcast operand b");
    if (op > BinaryOp::greater) [[unlikely]]
        fail("binary: unknown op " + std::to_string(static_cast<int>(op)));
    const cl_int mode = nb == n ? 0 : nb == cols ? 1 : 2;
    launch_1d(Kernel::binary, "binary", n, va, vb, vy, u32(n), u32(cols ? cols : 1), mode,
              static_cast<cl_int>(op), alpha);
}

void OpenClDevice::axpby(float alpha, const Tensor& x, float beta, const Tensor& y) {
    const View vx = view(x, "axpby", "x"), vy = view(y, "axpby", "y");
    require_numel("axpby", "y", y, x.numel());
    launch_1d(Kernel::axpby, "axpby", x.numel(), alpha, vx, beta, vy, u32(x.numel()));
}

void OpenClDevice::reduce(ReduceOp op, const Tensor& x, Axis axis, const Tensor& y) {
    const View vx = view(x, "reduce", "x"), vy = view(y, "reduce", "y");
    const std::size_t rows = x.rows(), cols = x.cols();
    if (axis != Axis::rows && axis != Axis::cols && axis != Axis::all) [[unlikely]]
        fail("reduce: unknown axis " + std::to_string(static_cast<int>(axis)));
    if (op > ReduceOp::argmax) [[unlikely]]
        fail("reduce: unknown op " + std::to_string(static_cast<int>(op)));
    const std::size_t out = axis == Axis::rows ? cols : axis == Axis::cols ? rows : 1;
    const std::size_t extent = axis == Axis::rows ? rows : axis == Axis::cols ? cols : rows * cols;
    require_numel("reduce", "y", y, out);
    if (overlaps(x, y)) [[unlikely]]
        fail("reduce: y overlaps x");
    if (out == 0) return;
    if (extent == 0) {
        if (op != ReduceOp::sum) [[unlikely]]
            fail("reduce: mean, max and argmax of an empty axis are undefined (x has shape " +
                 x.shape().str() + ")");
        return fill(y, 0.0f);
    }
    const auto code = static_cast<cl_int>(op);
    if (axis == Axis::rows) {
        launch_1d(Kernel::reduce_rows, "reduce", cols, vx, vy, u32(rows), u32(cols), code);
        return;
    }
    const std::size_t groups = axis == Axis::cols ? rows : 1;
    const std::size_t group = row_group(Kernel::reduce_cols, extent);
    launch(Kernel::reduce_cols, "reduce", {groups * group, 1}, {group, 1}, vx, vy, u32(extent),
           code);
}

void OpenClDevice::softmax(const Tensor& x, const Tensor& y, bool log) {
    const View vx = view(x, "softmax", "x"), vy = view(y, "softmax", "y");
    const std::size_t rows = x.rows(), cols = x.cols();
    require_numel("softmax", "y", y, x.numel());
    if (cols == 0 || rows == 0) return;
    const std::size_t group = row_group(Kernel::softmax, cols);
    launch(Kernel::softmax, "softmax", {rows * group, 1}, {group, 1}, vx, vy, u32(cols),
           cl_int{log});
}

void OpenClDevice::softmax_backward(const Tensor& y, const Tensor& dy, const Tensor& dx) {
    const char* op = "softmax_backward";
    const View vy = view(y, op, "y"), vdy = view(dy, op, "dy"), vdx = view(dx, op, "dx");
    const std::size_t rows = y.rows(), cols = y.cols();
    require_numel(op, "dy", dy, y.numel());
    require_numel(op, "dx", dx, y.numel());
    if (cols == 0 || rows == 0) return;
    const std::size_t group = row_group(Kernel::softmax_backward, cols);
    launch(Kernel::softmax_backward, op, {rows * group, 1}, {group, 1}, vy, vdy, vdx, u32(cols));
}

void OpenClDevice::random(Distribution dist, std::uint64_t seed, std::uint64_t counter,
                          const Tensor& y, float a, float b) {
    const View vy = view(y, "random", "y");
    float top = 0.0f;
    switch (dist) {
        case Distribution::uniform:
            if (!(a <= b) || !std::isfinite(a) || !std::isfinite(b)) [[unlikely]]
                fail("random: uniform needs finite a <= b, got a=" + std::to_string(a) +
                     " b=" + std::to_string(b));
            top = b > a ? std::nextafter(b, a) : a;  // keeps [a, b) half-open, as the CPU
            break;
        case Distribution::normal:
            if (!(b >= 0.0f) || !std::isfinite(a) || !std::isfinite(b)) [[unlikely]]
                fail("random: normal needs a finite mean a and standard deviation b >= 0, got a=" +
                     std::to_string(a) + " b=" + std::to_string(b));
            break;
        case Distribution::bernoulli:
            if (!(a >= 0.0f && a <= 1.0f)) [[unlikely]]
                fail("random: bernoulli needs a probability a in [0, 1], got a=" +
                     std::to_string(a));
            break;
        default:
            fail("random: unknown distribution " + std::to_string(static_cast<int>(dist)));
    }
    const std::size_t n = y.numel();
    launch_1d(Kernel::random, "random", (n + 3) / 4, vy, u32(n), cl_ulong{seed}, cl_ulong{counter},
              static_cast<cl_int>(dist), a, b, top);
}

}  // namespace plexus_opencl
