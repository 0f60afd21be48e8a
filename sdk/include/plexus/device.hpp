// Device: memory plus a fixed set of primitive ops. Layers, losses, optimizers and metrics
// are written only in terms of these ops, so every component runs on every device.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "plexus/export.hpp"
#include "plexus/fused.hpp"
#include "plexus/plugin_kind.hpp"
#include "plexus/tensor.hpp"
#include "plexus/window2d.hpp"

namespace plexus {

enum class Transpose : std::uint8_t { no, yes };

/// y = f(x) elementwise; `alpha` is the op's scalar where it has one.
enum class UnaryOp : std::uint8_t {
    identity,    // y = x
    scale,       // y = alpha * x
    add_scalar,  // y = x + alpha
    neg,
    abs,
    square,
    sqrt,
    exp,
    log,
    relu,
    sigmoid,
    tanh,
    sign,        // -1, 0 or 1
    leaky_relu,  // x > 0 ? x : alpha * x
    elu,         // x > 0 ? x : alpha * (exp(x) - 1)
    clip,        // clamp(x, -alpha, alpha)
    reciprocal,  // 1 / x
    count        // the number of ops, not an op; new ops go before it
};

/// y = f(a, b) elementwise, b broadcast (see Device::binary).
enum class BinaryOp : std::uint8_t {
    add,
    sub,
    mul,
    div,
    max,
    min,
    equal,          // 1 where a == b, else 0
    relu_backward,        // a * (b > 0): a is dy, b is the ReLU input
    leaky_relu_backward,  // a * (b > 0 ? 1 : alpha): b is the input
    elu_backward,         // a * (b > 0 ? 1 : alpha * exp(b)): b is the input
    sigmoid_backward,     // a * b * (1 - b): b is the sigmoid output
    tanh_backward,        // a * (1 - b * b): b is the tanh output
    greater,              // 1 where a > b, else 0
    count                 // the number of ops, not an op; new ops go before it
};

enum class ReduceOp : std::uint8_t {
    sum,
    mean,
    max,
    argmax,
    count  // the number of ops, not an op; new ops go before it
};

/// Which dimension a reduction removes, seeing the tensor as a row-major [rows, cols] matrix.
enum class Axis : std::uint8_t {
    rows,  // over the batch: result has cols() elements
    cols,  // within each row: result has rows() elements
    all,   // everything: result has 1 element
};

enum class Distribution : std::uint8_t {
    uniform,    // in [a, b)
    normal,     // mean a, standard deviation b
    bernoulli,  // 1 with probability a, else 0
    count       // the number of distributions, not one; new ones go before it
};

// The number of values of each op enum: what the conformance table
// (plexus::testing::check_device) static_asserts it covers, one case set per value.
inline constexpr std::size_t kUnaryOpCount = static_cast<std::size_t>(UnaryOp::count);
inline constexpr std::size_t kBinaryOpCount = static_cast<std::size_t>(BinaryOp::count);
inline constexpr std::size_t kReduceOpCount = static_cast<std::size_t>(ReduceOp::count);
inline constexpr std::size_t kDistributionCount = static_cast<std::size_t>(Distribution::count);

/// Pooling reductions of Device::pool2d.
enum class PoolOp : std::uint8_t {
    max,  // the largest in-bounds element of the window (padding never wins)
    avg,  // the mean of the in-bounds elements (padding not counted, as Keras's "same")
    count  // the number of ops, not an op; new ops go before it
};
inline constexpr std::size_t kPoolOpCount = static_cast<std::size_t>(PoolOp::count);

namespace detail {
inline constexpr std::array<std::string_view, kUnaryOpCount> kUnaryOpNames = {
    "identity", "scale", "add_scalar", "neg", "abs", "square", "sqrt", "exp", "log",
    "relu", "sigmoid", "tanh", "sign", "leaky_relu", "elu", "clip", "reciprocal"};
inline constexpr std::array<std::string_view, kBinaryOpCount> kBinaryOpNames = {
    "add", "sub", "mul", "div", "max", "min", "equal", "relu_backward", "leaky_relu_backward",
    "elu_backward", "sigmoid_backward", "tanh_backward", "greater"};
inline constexpr std::array<std::string_view, kReduceOpCount> kReduceOpNames = {
    "sum", "mean", "max", "argmax"};
inline constexpr std::array<std::string_view, kDistributionCount> kDistributionNames = {
    "uniform", "normal", "bernoulli"};
inline constexpr std::array<std::string_view, kPoolOpCount> kPoolOpNames = {"max", "avg"};

// A std::array initialised with too few names compiles, the rest left empty: these catch it.
template <std::size_t N>
constexpr bool all_named(const std::array<std::string_view, N>& names) {
    for (std::string_view n : names)
        if (n.empty()) return false;
    return true;
}
static_assert(all_named(kUnaryOpNames), "a UnaryOp has no name in kUnaryOpNames");
static_assert(all_named(kBinaryOpNames), "a BinaryOp has no name in kBinaryOpNames");
static_assert(all_named(kReduceOpNames), "a ReduceOp has no name in kReduceOpNames");
static_assert(all_named(kDistributionNames), "a Distribution has no name");
static_assert(all_named(kPoolOpNames), "a PoolOp has no name in kPoolOpNames");

template <std::size_t N>
constexpr std::string_view name_at(const std::array<std::string_view, N>& names, std::size_t i) {
    return i < N ? names[i] : std::string_view("?");
}
}  // namespace detail

/// The op's name in tables, profiles and `plexus devices --check`, e.g. "leaky_relu";
/// "?" for a value outside the enum.
constexpr std::string_view op_name(UnaryOp op) {
    return detail::name_at(detail::kUnaryOpNames, static_cast<std::size_t>(op));
}
constexpr std::string_view op_name(BinaryOp op) {
    return detail::name_at(detail::kBinaryOpNames, static_cast<std::size_t>(op));
}
constexpr std::string_view op_name(ReduceOp op) {
    return detail::name_at(detail::kReduceOpNames, static_cast<std::size_t>(op));
}
constexpr std::string_view op_name(Distribution dist) {
    return detail::name_at(detail::kDistributionNames, static_cast<std::size_t>(dist));
}
constexpr std::string_view op_name(PoolOp op) {
    return detail::name_at(detail::kPoolOpNames, static_cast<std::size_t>(op));
}

/// Allocation and transfer counters, kept by the Device base class for every device.
struct DeviceCounters {
    std::uint64_t allocations = 0;  // calls to alloc()
    std::uint64_t alloc_bytes = 0;  // bytes requested by alloc() in total
    std::uint64_t live_bytes = 0;   // bytes currently allocated
    std::uint64_t h2d_bytes = 0;    // bytes uploaded host -> device
    std::uint64_t d2h_bytes = 0;    // bytes downloaded device -> host
    // fused kernels run, per key (index: fused::Key), by try_fused()
    std::array<std::uint64_t, fused::kKeyCount> fused_runs{};
};

/// Tensors are row-major [batch, features...]. A device must outlive every tensor it
/// allocated (owners destroy models before devices). Every op requires its tensors to live on this
/// device; shapes are checked by element counts as documented per op. Ops may run
/// asynchronously; download() and synchronize() wait for them.
class PLEXUS_API Device {
public:
    using Interface = Device;
    static constexpr Kind kKind = Kind::device;

    Device();
    virtual ~Device();
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    /// Short name, e.g. "cpu".
    virtual std::string name() const = 0;
    /// One line about the hardware and libraries, e.g. "cpu: 2 threads, OpenBLAS 0.3.21".
    virtual std::string description() const = 0;

    // ---- memory (non-virtual: counting lives here, devices implement allocate/write/read)

    /// Allocates an uninitialised tensor. Ensures counters().allocations grows by one.
    /// Throws DeviceError when out of memory, naming the size.
    Tensor alloc(const Shape& shape);
    /// Copies host floats into `dst`. Requires src.size() == dst.numel().
    void upload(const Tensor& dst, std::span<const float> src);
    /// Copies `src` into host floats, waiting for pending ops. Requires dst.size() == src.numel().
    void download(const Tensor& src, std::span<float> dst);
    /// Convenience: downloads a one-element tensor.
    float download_scalar(const Tensor& src);

    const DeviceCounters& counters() const { return counters_; }
    void reset_counters();

    // ---- primitive ops

    /// c = alpha * op(a) * op(b) + beta * c with a, b, c seen as row-major matrices
    /// [rows, cols]. Requires op(a) M×K, op(b) K×N, c M×N, c not overlapping a or b. With
    /// beta == 0, c is not read.
    virtual void gemm(Transpose ta, Transpose tb, float alpha, const Tensor& a, const Tensor& b,
                      float beta, const Tensor& c) = 0;
    /// y = value everywhere.
    virtual void fill(const Tensor& y, float value) = 0;
    /// y = x. Requires equal numel.
    virtual void copy(const Tensor& x, const Tensor& y) = 0;
    /// y = op(x) elementwise. Requires equal numel; x and y may be the same tensor.
    virtual void unary(UnaryOp op, const Tensor& x, const Tensor& y, float alpha = 0.0f) = 0;
    /// y = op(a, b), `alpha` being the op's scalar where it has one. Requires
    /// y.numel() == a.numel() and b either of a's size (elementwise), of a.cols() elements (a
    /// row broadcast over every row of a), or of one element; when two readings are possible
    /// the elementwise one wins. y may alias a, and b when b is elementwise.
    virtual void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& y,
                        float alpha = 0.0f) = 0;
    /// y = alpha * x + beta * y. Requires equal numel. With beta == 0, y is not read (as in
    /// BLAS), so it may be uninitialised.
    virtual void axpby(float alpha, const Tensor& x, float beta, const Tensor& y) = 0;
    /// Reduces x along `axis` into y (see Axis for y's size). argmax writes the index as a
    /// float (first maximum wins).
    virtual void reduce(ReduceOp op, const Tensor& x, Axis axis, const Tensor& y) = 0;
    /// Row-wise softmax of a [rows, cols] tensor, or log-softmax when `log`; numerically
    /// stable (the row maximum is subtracted first). y may alias x.
    virtual void softmax(const Tensor& x, const Tensor& y, bool log = false) = 0;
    /// Gradient of a row-wise softmax: dx = y * (dy - rowsum(dy * y)), y being the softmax
    /// output. dx may alias dy.
    virtual void softmax_backward(const Tensor& y, const Tensor& dy, const Tensor& dx) = 0;
    /// Fills y from `dist` with parameters a, b. Counter-based: the same (seed, counter)
    /// gives the same values on the same device, whatever was drawn before.
    virtual void random(Distribution dist, std::uint64_t seed, std::uint64_t counter,
                        const Tensor& y, float a, float b) = 0;
    /// Waits until every queued op has finished.
    virtual void synchronize() {}

    // ---- window ops (convolution and pooling on NCHW tensors; non-virtual: the geometry and
    // operand checks live here, devices implement run_im2col ... run_transpose)

    /// Throws DeviceError naming `op` unless `w` is valid: every size >= 1, out_h / out_w
    /// equal to window_output() for some pad_after in [0, dilated kernel span), in-plane
    /// indices below 2^24 (argmax is stored exactly as a float).
    void check_window(const Window2d& w, const char* op) const;
    /// Patch matrix for a convolution as one GEMM: x is [N, C, H, W] (numel), col is
    /// [N * out_h * out_w, C * kernel_h * kernel_w] with
    ///   col[(n * out_h + oh) * out_w + ow][(c * kernel_h + i) * kernel_w + j]
    ///     = x[n][c][oh * stride_h - pad_top + i * dilation_h][ow * stride_w - pad_left + j * dilation_w]
    /// and 0 for padding. col must not overlap x.
    void im2col(const Tensor& x, const Tensor& col, const Window2d& w);
    /// The adjoint of im2col: x = the sum, over every col element, of that element into the
    /// input position it was read from (padding dropped). Overwrites x (not read).
    void col2im(const Tensor& col, const Tensor& x, const Window2d& w);
    /// y[n][c][oh][ow] = op over the window's in-bounds elements of x (see PoolOp). For max,
    /// when `argmax` is not empty (y's numel), also writes the in-plane index h * W + w of
    /// the window's first maximum (window order: rows, then columns) as a float. Every
    /// window must hold an in-bounds element (check_window's rule ensures it).
    void pool2d(PoolOp op, const Tensor& x, const Tensor& y, const Tensor& argmax,
                const Window2d& w);
    /// dx = the gradient of pool2d: max sends each dy to its window's argmax (required, as
    /// pool2d wrote it), avg spreads dy / count over the window's in-bounds elements; windows
    /// that overlap add up. Overwrites dx (not read); `argmax` may be empty for avg.
    void pool2d_backward(PoolOp op, const Tensor& dy, const Tensor& argmax, const Tensor& dx,
                         const Window2d& w);
    /// Batched transpose of runs: y[b][j][i][k] = x[b][i][j][k] for x seen as [batch, rows,
    /// cols, inner], i.e. the [rows, cols] matrices of `inner`-float runs transposed. With
    /// inner = 1 an element transpose, e.g. NCHW [N, C, H*W] to NHWC [N, H*W, C] with rows = C,
    /// cols = H*W; with inner = H*W a block permute of whole planes, e.g. [F, N, H*W] to
    /// NCHW [N, F, H*W] (batch 1, rows F, cols N). Requires x and y of
    /// batch * rows * cols * inner elements, not overlapping.
    void transpose(const Tensor& x, const Tensor& y, std::size_t batch, std::size_t rows,
                   std::size_t cols, std::size_t inner = 1);

    // ---- fused kernels (plexus/fused.hpp; non-virtual: counting lives here, devices
    // implement fused_keys and run_fused)

    /// The fused keys this device implements. The default is none.
    virtual fused::KeySet fused_keys() const;
    /// Runs the fused kernel for `op` and returns true when fused_keys() contains its key;
    /// otherwise returns false and does nothing, and the caller runs its primitive path.
    /// Ensures counters().fused_runs[key] grows by one when it ran. Before run_fused, checks
    /// every operand here, for every device: it lives on this device and has the element
    /// count its field's comment in plexus/fused.hpp gives (batchnorm training: N >= 2;
    /// recurrent cells: gate blocks of G*H columns for H = the state's columns, a known
    /// activation);
    /// throws DeviceError naming the key and the operand otherwise, and nothing runs.
    bool try_fused(const fused::BatchNormForwardTrain& op);
    bool try_fused(const fused::BatchNormForwardInfer& op);
    bool try_fused(const fused::BatchNormBackward& op);
    bool try_fused(const fused::SoftmaxCrossEntropyBackward& op);
    bool try_fused(const fused::AdamUpdate& op);
    bool try_fused(const fused::SgdMomentumUpdate& op);
    bool try_fused(const fused::Conv2dForward& op);
    bool try_fused(const fused::Conv2dBackward& op);
    bool try_fused(const fused::LstmCellForward& op);
    bool try_fused(const fused::LstmCellBackward& op);
    bool try_fused(const fused::GruCellForward& op);
    bool try_fused(const fused::GruCellBackward& op);

protected:
    /// Returns a buffer of `bytes` bytes, or throws DeviceError.
    virtual void* allocate(std::size_t bytes) = 0;
    virtual void deallocate(void* handle) noexcept = 0;
    /// Copies bytes between host memory and a buffer at a byte offset.
    virtual void write(void* handle, std::size_t offset_bytes, const void* src,
                       std::size_t bytes) = 0;
    virtual void read(const void* handle, std::size_t offset_bytes, void* dst,
                      std::size_t bytes) = 0;
    /// Runs one fused kernel; called by try_fused only for keys in fused_keys() and only
    /// after the operand check above, so an implementation need not repeat it. A device
    /// overrides exactly the overloads of the keys it lists. The defaults throw DeviceError
    /// (a key listed but not implemented).
    virtual void run_fused(const fused::BatchNormForwardTrain& op);
    virtual void run_fused(const fused::BatchNormForwardInfer& op);
    virtual void run_fused(const fused::BatchNormBackward& op);
    virtual void run_fused(const fused::SoftmaxCrossEntropyBackward& op);
    virtual void run_fused(const fused::AdamUpdate& op);
    virtual void run_fused(const fused::SgdMomentumUpdate& op);
    virtual void run_fused(const fused::Conv2dForward& op);
    virtual void run_fused(const fused::Conv2dBackward& op);
    virtual void run_fused(const fused::LstmCellForward& op);
    virtual void run_fused(const fused::LstmCellBackward& op);
    virtual void run_fused(const fused::GruCellForward& op);
    virtual void run_fused(const fused::GruCellBackward& op);
    /// The window ops, called after the checks above (window valid, operands on this device
    /// with the documented element counts, no forbidden overlap).
    virtual void run_im2col(const Tensor& x, const Tensor& col, const Window2d& w) = 0;
    virtual void run_col2im(const Tensor& col, const Tensor& x, const Window2d& w) = 0;
    virtual void run_pool2d(PoolOp op, const Tensor& x, const Tensor& y, const Tensor& argmax,
                            const Window2d& w) = 0;
    virtual void run_pool2d_backward(PoolOp op, const Tensor& dy, const Tensor& argmax,
                                     const Tensor& dx, const Window2d& w) = 0;
    virtual void run_transpose(const Tensor& x, const Tensor& y, std::size_t batch,
                               std::size_t rows, std::size_t cols, std::size_t inner) = 0;

private:
    template <class Op>
    bool dispatch_fused(const Op& op);

    DeviceCounters counters_;
};

}  // namespace plexus
