// The OpenCL device's window ops (plexus/device.hpp): one launch each (kernels/im2col.cl,
// col2im.cl, pool2d.cl, pool2d_backward.cl, transpose.cl). The base class has checked the
// geometry and the operands; the backward ops are gathers (one work-item per input element),
// so they need no atomics and sum in the CPU device's order.
#include <algorithm>
#include <bit>
#include <tuple>

#include "opencl_device.hpp"

namespace plexus_opencl {

using plexus::PoolOp;
using plexus::Tensor;
using plexus::Window2d;

// pool2d.cl and pool2d_backward.cl switch on these numbers.
static_assert(static_cast<int>(PoolOp::max) == 0 && static_cast<int>(PoolOp::avg) == 1 &&
              plexus::kPoolOpCount == 2);

namespace {
// check_window and allocate() keep every size below 2^32.
cl_uint u32(std::size_t n) { return static_cast<cl_uint>(n); }

// The Window2d fields in the order of common.cl's WINDOW2D_PARAMS.
auto window_args(const Window2d& w) {
    return std::tuple{u32(w.batch),      u32(w.channels),   u32(w.height),   u32(w.width),
                      u32(w.kernel_h),   u32(w.kernel_w),   u32(w.stride_h), u32(w.stride_w),
                      u32(w.dilation_h), u32(w.dilation_w), u32(w.pad_top),  u32(w.pad_left),
                      u32(w.out_h),      u32(w.out_w)};
}
}  // namespace

template <class... Args>
void OpenClDevice::launch_window(Kernel kernel, const char* op, std::size_t n, const Window2d& w,
                                 const Args&... args) {
    std::apply([&](auto... field) { launch_1d(kernel, op, n, args..., field...); }, window_args(w));
}

void OpenClDevice::run_im2col(const Tensor& x, const Tensor& col, const Window2d& w) {
    const View vx = view(x, "im2col", "x"), vcol = view(col, "im2col", "col");
    launch_window(Kernel::im2col, "im2col", col.numel(), w, vx, vcol);
}

void OpenClDevice::run_col2im(const Tensor& col, const Tensor& x, const Window2d& w) {
    const View vcol = view(col, "col2im", "col"), vx = view(x, "col2im", "x");
    launch_window(Kernel::col2im, "col2im", x.numel(), w, vcol, vx);
}

void OpenClDevice::run_pool2d(PoolOp op, const Tensor& x, const Tensor& y, const Tensor& argmax,
                              const Window2d& w) {
    const View vx = view(x, "pool2d", "x"), vy = view(y, "pool2d", "y");
    const bool has_argmax = op == PoolOp::max && !argmax.empty();
    const View va = has_argmax ? view(argmax, "pool2d", "argmax") : vy;  // vy: not written
    launch_window(Kernel::pool2d, "pool2d", y.numel(), w, vx, vy, va, cl_int{has_argmax},
                  static_cast<cl_int>(op));
}

void OpenClDevice::run_pool2d_backward(PoolOp op, const Tensor& dy, const Tensor& argmax,
                                       const Tensor& dx, const Window2d& w) {
    const char* name = "pool2d_backward";
    const View vdy = view(dy, name, "dy"), vdx = view(dx, name, "dx");
    const View va = op == PoolOp::max ? view(argmax, name, "argmax") : vdy;  // vdy: not read
    launch_window(Kernel::pool2d_backward, name, dx.numel(), w, vdy, va, vdx,
                  static_cast<cl_int>(op));
}

void OpenClDevice::run_transpose(const Tensor& x, const Tensor& y, std::size_t batch,
                                 std::size_t rows, std::size_t cols, std::size_t inner) {
    const View vx = view(x, "transpose", "x"), vy = view(y, "transpose", "y");
    constexpr std::size_t kTile = 16;  // transpose.cl's TR_TILE
    if (inner > 1) {  // runs copied whole: work-groups of 16 x 1, 16 adjacent floats of a run
        const std::size_t runs = batch * rows * cols;
        launch(Kernel::transpose, "transpose", {(inner + kTile - 1) / kTile * kTile, runs},
               {kTile, 1}, vx, vy, u32(rows), u32(cols), u32(inner), u32(runs));
        return;
    }
    // Work-groups of 16 x `step` work-items, each moving 16 / step rows of the tile: 16 x 16
    // where the device allows it.
    const std::size_t group = kernel_group_[static_cast<std::size_t>(Kernel::transpose)];
    const std::size_t step = std::clamp<std::size_t>(std::bit_floor(group / kTile), 1, kTile);
    const std::size_t tiles_r = (rows + kTile - 1) / kTile, tiles_c = (cols + kTile - 1) / kTile;
    launch(Kernel::transpose, "transpose", {tiles_c * kTile, batch * tiles_r * step}, {kTile, step},
           vx, vy, u32(rows), u32(cols), u32(1), u32(batch * rows * cols));
}

}  // namespace plexus_opencl
