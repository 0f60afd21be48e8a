// CPU device: OpenBLAS for GEMM, plain loops for everything else.
//
// It is the reference every other device is compared against, so outside gemm the code
// favours obvious loops (compiled -O3, reductions marked `omp simd`) over clever kernels.
// Ops run synchronously on the calling thread; only GEMM fans out, on OpenBLAS's own pool,
// which keeps one owner of the cores (DESIGN §7). No op allocates.
#include <cblas.h>

#include <armadillo>

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "fused_batchnorm.hpp"
#include "fused_optimizer.hpp"
#include "plexus/device.hpp"
#include "plexus/error.hpp"
#include "plexus/plugin.hpp"

namespace {

using plexus::Axis;
using plexus::BinaryOp;
using plexus::DeviceError;
using plexus::Distribution;
using plexus::ReduceOp;
using plexus::Shape;
using plexus::Tensor;
using plexus::Transpose;
using plexus::UnaryOp;

constexpr plexus::ParamSpec kParams[] = {
    {"threads", plexus::ParamType::integer, "0", 0, 1024, nullptr,
     "OpenBLAS threads for GEMM; 0 keeps OpenBLAS's default (OPENBLAS_NUM_THREADS, else one "
     "per core). The setting is process-wide."},
};

constexpr std::size_t kAlignment = 64;  // a cache line, and a full AVX-512 register
// Reductions over the batch accumulate this many columns at a time in a stack buffer of
// doubles, so sums over many rows keep their precision without a heap temporary.
constexpr std::size_t kBlock = 256;

// ---- errors: built out of line so the checks on the hot path stay a compare and a branch

[[noreturn, gnu::cold, gnu::noinline]] void fail(const std::string& message) {
    throw DeviceError("cpu: " + message);
}

[[noreturn, gnu::cold, gnu::noinline]] void fail_foreign(const char* op, const char* what) {
    fail(std::string(op) + ": tensor '" + what +
         "' is empty or lives on another device; allocate it with this device's alloc()");
}

[[noreturn, gnu::cold, gnu::noinline]] void fail_size(const char* op, const char* what,
                                                      const Shape& shape, std::size_t want) {
    fail(std::string(op) + ": '" + what + "' has shape " + shape.str() + " (" +
         std::to_string(shape.numel()) + " elements) but " + std::to_string(want) +
         " elements are required");
}

void require_numel(const char* op, const char* what, const Tensor& t, std::size_t want) {
    if (t.numel() != want) [[unlikely]]
        fail_size(op, what, t.shape(), want);
}

bool overlaps(const float* p, std::size_t n, const float* q, std::size_t m) {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    const auto b = reinterpret_cast<std::uintptr_t>(q);
    return n && m && a < b + m * sizeof(float) && b < a + n * sizeof(float);
}

// Subnormals (e.g. Adam's decaying moments) cost ~100 cycles per operation on x86; flushing
// them is worth 15 %–2× here (DESIGN §7). MXCSR is per thread and reading it is cheap, so
// every op makes sure the thread running it flushes, whichever thread that is.
void flush_subnormals() {
#if defined(__SSE__)
    constexpr unsigned kFtzDaz = 0x8040;  // FTZ (bit 15) | DAZ (bit 6)
    const unsigned csr = _mm_getcsr();
    if ((csr & kFtzDaz) != kFtzDaz) [[unlikely]]
        _mm_setcsr(csr | kFtzDaz);
#endif
}

// ---- elementwise kernels: one loop per op, the lambda inlined so each loop vectorises

template <class F>
void map(const float* x, float* y, std::size_t n, F f) {
    for (std::size_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

// b is elementwise (nb == rows*cols), one row broadcast over every row (nb == cols), or a
// scalar; the elementwise reading wins where shapes make two readings possible.
template <class F>
void zip(const float* a, const float* b, float* y, std::size_t rows, std::size_t cols,
         std::size_t nb, F f) {
    const std::size_t n = rows * cols;
    if (nb == n) {
        for (std::size_t i = 0; i < n; ++i) y[i] = f(a[i], b[i]);
    } else if (nb == cols) {
        for (std::size_t r = 0; r < rows; ++r) {
            const float* ar = a + r * cols;
            float* yr = y + r * cols;
            for (std::size_t c = 0; c < cols; ++c) yr[c] = f(ar[c], b[c]);
        }
    } else {
        const float s = b[0];
        for (std::size_t i = 0; i < n; ++i) y[i] = f(a[i], s);
    }
}

// ---- reductions. Sums accumulate in double: float sums of a whole tensor drift visibly.

// Reduces each row of a [rows, cols] matrix to one value; Axis::all is the 1×n case.
void reduce_within_rows(ReduceOp op, const float* x, std::size_t rows, std::size_t cols, float* y) {
    for (std::size_t r = 0; r < rows; ++r) {
        const float* xr = x + r * cols;
        switch (op) {
            case ReduceOp::sum:
            case ReduceOp::mean: {
                double s = 0.0;
#pragma omp simd reduction(+ : s)
                for (std::size_t c = 0; c < cols; ++c) s += xr[c];
                y[r] = static_cast<float>(op == ReduceOp::mean ? s / static_cast<double>(cols) : s);
                break;
            }
            case ReduceOp::max: {
                float m = xr[0];
#pragma omp simd reduction(max : m)
                for (std::size_t c = 1; c < cols; ++c) m = xr[c] > m ? xr[c] : m;
                y[r] = m;
                break;
            }
            case ReduceOp::argmax: {
                std::size_t best = 0;
                for (std::size_t c = 1; c < cols; ++c)
                    if (xr[c] > xr[best]) best = c;  // strict: the first maximum wins
                y[r] = static_cast<float>(best);
                break;
            }
        }
    }
}

// Reduces over the rows (the batch) into one value per column, a block of columns at a time
// so the running values stay in registers/L1 while the rows stream past.
void reduce_over_rows(ReduceOp op, const float* x, std::size_t rows, std::size_t cols, float* y) {
    for (std::size_t c0 = 0; c0 < cols; c0 += kBlock) {
        const std::size_t w = std::min(kBlock, cols - c0);
        const float* x0 = x + c0;
        float* y0 = y + c0;
        switch (op) {
            case ReduceOp::sum:
            case ReduceOp::mean: {
                std::array<double, kBlock> acc{};
                for (std::size_t r = 0; r < rows; ++r) {
                    const float* xr = x0 + r * cols;
                    for (std::size_t j = 0; j < w; ++j) acc[j] += xr[j];
                }
                const double scale = op == ReduceOp::mean ? 1.0 / static_cast<double>(rows) : 1.0;
                for (std::size_t j = 0; j < w; ++j) y0[j] = static_cast<float>(acc[j] * scale);
                break;
            }
            case ReduceOp::max: {
                std::copy_n(x0, w, y0);
                for (std::size_t r = 1; r < rows; ++r) {
                    const float* xr = x0 + r * cols;
                    for (std::size_t j = 0; j < w; ++j) y0[j] = xr[j] > y0[j] ? xr[j] : y0[j];
                }
                break;
            }
            case ReduceOp::argmax: {
                std::array<float, kBlock> best;
                std::copy_n(x0, w, best.begin());
                std::fill_n(y0, w, 0.0f);
                for (std::size_t r = 1; r < rows; ++r) {
                    const float* xr = x0 + r * cols;
                    const float index = static_cast<float>(r);
                    for (std::size_t j = 0; j < w; ++j) {
                        const bool better = xr[j] > best[j];
                        best[j] = better ? xr[j] : best[j];
                        y0[j] = better ? index : y0[j];
                    }
                }
                break;
            }
        }
    }
}

// ---- random numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as
// 1, 2, 3", SC 2011), the generator of cuRAND and Random123. Element i of a draw is a pure
// function of (seed, counter, i), so results never depend on call history or on how the
// work is split, and a GPU device can reproduce them bit for bit.

using Block = std::array<std::uint32_t, 4>;

Block philox(std::uint64_t block, std::uint64_t counter, std::uint64_t seed) {
    std::uint32_t c0 = static_cast<std::uint32_t>(block),
                  c1 = static_cast<std::uint32_t>(block >> 32);
    std::uint32_t c2 = static_cast<std::uint32_t>(counter),
                  c3 = static_cast<std::uint32_t>(counter >> 32);
    std::uint32_t k0 = static_cast<std::uint32_t>(seed),
                  k1 = static_cast<std::uint32_t>(seed >> 32);
    for (int round = 0; round < 10; ++round) {
        const std::uint64_t p0 = std::uint64_t{0xD2511F53} * c0;
        const std::uint64_t p1 = std::uint64_t{0xCD9E8D57} * c2;
        const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1 ^ k0;
        const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3 ^ k1;
        c1 = static_cast<std::uint32_t>(p1);
        c3 = static_cast<std::uint32_t>(p0);
        c0 = n0;
        c2 = n2;
        k0 += 0x9E3779B9;
        k1 += 0xBB67AE85;
    }
    return {c0, c1, c2, c3};
}

// The top 24 bits as a float in [0, 1): every value exactly representable, 1 never reached.
float unit(std::uint32_t bits) {
    return static_cast<float>(bits >> 8) * 0x1p-24f;
}

// Element i takes lane i % 4 of block i / 4; `make` turns one block into four values.
template <class F>
void fill_random(float* y, std::size_t n, std::uint64_t seed, std::uint64_t counter, F make) {
    for (std::size_t base = 0; base < n; base += 4) {
        const std::array<float, 4> v = make(philox(base / 4, counter, seed));
        const std::size_t take = std::min<std::size_t>(4, n - base);
        for (std::size_t j = 0; j < take; ++j) y[base + j] = v[j];
    }
}

// Box–Muller: each pair of lanes gives two independent standard normals (cos and sin).
void box_muller(std::uint32_t b0, std::uint32_t b1, float* z) {
    const float u1 = static_cast<float>((b0 >> 8) + 1) * 0x1p-24f;  // (0, 1]: log stays finite
    const float r = std::sqrt(-2.0f * std::log(u1));
    const float theta = 6.28318530717958647692f * unit(b1);
    z[0] = r * std::cos(theta);
    z[1] = r * std::sin(theta);
}

// ---- the device

class CpuDevice final : public plexus::Device {
public:
    explicit CpuDevice(const plexus::Params& params) {
        const long long threads = params.has("threads") ? params.get_int("threads") : 0;
        if (threads > 0) openblas_set_num_threads(static_cast<int>(threads));
        flush_subnormals();
    }

    std::string name() const override { return "cpu"; }

    std::string description() const override {
        // "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64": keep the first
        // two words; the kernel set comes from get_corename.
        const std::string config = openblas_get_config();
        const std::size_t space = config.find(' ');
        const std::string library = config.substr(0, config.find(' ', space + 1));
        const int threads = openblas_get_num_threads();
        return "cpu: " + library + " (" + openblas_get_corename() + " kernels, " +
               std::to_string(threads) + (threads == 1 ? " thread)" : " threads)");
    }

    void gemm(Transpose ta, Transpose tb, float alpha, const Tensor& a, const Tensor& b, float beta,
              const Tensor& c) override {
        flush_subnormals();
        const float* pa = data(a, "gemm", "a");
        const float* pb = data(b, "gemm", "b");
        float* pc = data(c, "gemm", "c");
        const bool at = ta == Transpose::yes, bt = tb == Transpose::yes;
        const std::size_t m = at ? a.cols() : a.rows(), k = at ? a.rows() : a.cols();
        const std::size_t kb = bt ? b.cols() : b.rows(), n = bt ? b.rows() : b.cols();
        if (kb != k || c.rows() != m || c.cols() != n) [[unlikely]]
            fail("gemm: op(a) is " + std::to_string(m) + "x" + std::to_string(k) + " (a " +
                 a.shape().str() + (at ? " transposed" : "") + "), op(b) is " + std::to_string(kb) +
                 "x" + std::to_string(n) + " (b " + b.shape().str() + (bt ? " transposed" : "") +
                 "), c is " + c.shape().str() + "; need op(a) MxK, op(b) KxN and c MxN");
        if (std::max({m, n, k}) > static_cast<std::size_t>(INT_MAX)) [[unlikely]]
            fail("gemm: a dimension exceeds the 32-bit BLAS interface (" + std::to_string(m) + "x" +
                 std::to_string(k) + " times " + std::to_string(k) + "x" + std::to_string(n) + ")");
        if (overlaps(pc, c.numel(), pa, a.numel()) || overlaps(pc, c.numel(), pb, b.numel()))
            [[unlikely]]
            fail("gemm: c overlaps a or b; BLAS needs a separate output");
        if (m == 0 || n == 0) return;
        if (k == 0) {  // an empty product: BLAS would reject lda = 0, the answer is beta * c
            if (beta == 0.0f)
                std::fill_n(pc, m * n, 0.0f);
            else
                map(pc, pc, m * n, [beta](float v) { return beta * v; });
            return;
        }
        // Row-major with the transposes as flags: OpenBLAS swaps to its column-major kernels
        // internally, so no operand is ever copied here. beta == 0 means c is not read.
        cblas_sgemm(CblasRowMajor, at ? CblasTrans : CblasNoTrans, bt ? CblasTrans : CblasNoTrans,
                    static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, pa,
                    static_cast<int>(a.cols()), pb, static_cast<int>(b.cols()), beta, pc,
                    static_cast<int>(c.cols()));
    }

    void fill(const Tensor& y, float value) override {
        std::fill_n(data(y, "fill", "y"), y.numel(), value);
    }

    void copy(const Tensor& x, const Tensor& y) override {
        const float* px = data(x, "copy", "x");
        float* py = data(y, "copy", "y");
        require_numel("copy", "y", y, x.numel());
        if (px != py) std::memmove(py, px, x.numel() * sizeof(float));
    }

    void unary(UnaryOp op, const Tensor& x, const Tensor& y, float alpha) override {
        flush_subnormals();
        const float* px = data(x, "unary", "x");
        float* py = data(y, "unary", "y");
        const std::size_t n = x.numel();
        require_numel("unary", "y", y, n);
        switch (op) {
            case UnaryOp::identity:
                if (px != py) std::memmove(py, px, n * sizeof(float));
                return;
            case UnaryOp::scale:
                return map(px, py, n, [alpha](float v) { return alpha * v; });
            case UnaryOp::add_scalar:
                return map(px, py, n, [alpha](float v) { return v + alpha; });
            case UnaryOp::neg:
                return map(px, py, n, [](float v) { return -v; });
            case UnaryOp::abs:
                return map(px, py, n, [](float v) { return std::fabs(v); });
            case UnaryOp::square:
                return map(px, py, n, [](float v) { return v * v; });
            case UnaryOp::sqrt:
                return map(px, py, n, [](float v) { return std::sqrt(v); });
            case UnaryOp::exp:
                return map(px, py, n, [](float v) { return std::exp(v); });
            case UnaryOp::log:
                return map(px, py, n, [](float v) { return std::log(v); });
            case UnaryOp::relu:
                return map(px, py, n, [](float v) { return v > 0.0f ? v : 0.0f; });
            case UnaryOp::sigmoid:
                // exp(-v) overflows to inf for v < -88 and the quotient is then exactly 0.
                return map(px, py, n, [](float v) { return 1.0f / (1.0f + std::exp(-v)); });
            case UnaryOp::tanh:
                return map(px, py, n, [](float v) { return std::tanh(v); });
            case UnaryOp::sign:
                return map(px, py, n, [](float v) { return float(v > 0.0f) - float(v < 0.0f); });
            case UnaryOp::leaky_relu:
                return map(px, py, n, [alpha](float v) { return v > 0.0f ? v : alpha * v; });
            case UnaryOp::elu:
                return map(px, py, n,
                           [alpha](float v) { return v > 0.0f ? v : alpha * std::expm1(v); });
            case UnaryOp::clip:
                return map(px, py, n, [alpha](float v) { return std::clamp(v, -alpha, alpha); });
            case UnaryOp::reciprocal:
                return map(px, py, n, [](float v) { return 1.0f / v; });
        }
        fail("unary: unknown op " + std::to_string(static_cast<int>(op)));
    }

    void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& y,
                float alpha) override {
        flush_subnormals();
        const float* pa = data(a, "binary", "a");
        const float* pb = data(b, "binary", "b");
        float* py = data(y, "binary", "y");
        const std::size_t rows = a.rows(), cols = a.cols(), n = a.numel(), nb = b.numel();
        require_numel("binary", "y", y, n);
        if (nb != n && nb != cols && nb != 1) [[unlikely]]
            fail("binary: 'b' has shape " + b.shape().str() + " but 'a' has shape " +
                 a.shape().str() + "; b needs " + std::to_string(n) + " elements (elementwise), " +
                 std::to_string(cols) + " (one row, broadcast) or 1 (a scalar)");
        if (nb != n && overlaps(py, n, pb, nb)) [[unlikely]]
            fail("binary: y overlaps the broadcast operand b");
        const auto run = [&](auto f) { zip(pa, pb, py, rows, cols, nb, f); };
        switch (op) {
            case BinaryOp::add:
                return run([](float u, float v) { return u + v; });
            case BinaryOp::sub:
                return run([](float u, float v) { return u - v; });
            case BinaryOp::mul:
                return run([](float u, float v) { return u * v; });
            case BinaryOp::div:
                return run([](float u, float v) { return u / v; });
            case BinaryOp::max:
                return run([](float u, float v) { return u > v ? u : v; });
            case BinaryOp::min:
                return run([](float u, float v) { return u < v ? u : v; });
            case BinaryOp::equal:
                return run([](float u, float v) { return u == v ? 1.0f : 0.0f; });
            case BinaryOp::relu_backward:
                // A select, not a product: an infinite dy where the ReLU was off gives 0, not NaN.
                return run([](float u, float v) { return v > 0.0f ? u : 0.0f; });
            case BinaryOp::leaky_relu_backward:
                return run([alpha](float u, float v) { return v > 0.0f ? u : alpha * u; });
            case BinaryOp::elu_backward:
                return run([alpha](float u, float v) { return v > 0.0f ? u : u * alpha * std::exp(v); });
            case BinaryOp::sigmoid_backward:
                return run([](float u, float v) { return u * v * (1.0f - v); });
            case BinaryOp::tanh_backward:
                return run([](float u, float v) { return u * (1.0f - v * v); });
            case BinaryOp::greater:
                return run([](float u, float v) { return u > v ? 1.0f : 0.0f; });
        }
        fail("binary: unknown op " + std::to_string(static_cast<int>(op)));
    }

    void axpby(float alpha, const Tensor& x, float beta, const Tensor& y) override {
        flush_subnormals();
        const float* px = data(x, "axpby", "x");
        float* py = data(y, "axpby", "y");
        const std::size_t n = x.numel();
        require_numel("axpby", "y", y, n);
        if (beta == 0.0f) {  // as in BLAS, y is not read: it may be freshly allocated garbage
            for (std::size_t i = 0; i < n; ++i) py[i] = alpha * px[i];
            return;
        }
        // Armadillo views over the buffers (no copy, strict size): the expression is
        // evaluated in one elementwise pass with no temporary, as DESIGN §2 describes.
        const arma::fvec xv(const_cast<float*>(px), n, false, true);
        arma::fvec yv(py, n, false, true);
        yv = alpha * xv + beta * yv;
    }

    void reduce(ReduceOp op, const Tensor& x, Axis axis, const Tensor& y) override {
        flush_subnormals();
        const float* px = data(x, "reduce", "x");
        float* py = data(y, "reduce", "y");
        const std::size_t rows = x.rows(), cols = x.cols();
        const std::size_t out = axis == Axis::rows ? cols : axis == Axis::cols ? rows : 1;
        const std::size_t extent = axis == Axis::rows   ? rows
                                   : axis == Axis::cols ? cols
                                                        : rows * cols;
        if (axis != Axis::rows && axis != Axis::cols && axis != Axis::all) [[unlikely]]
            fail("reduce: unknown axis " + std::to_string(static_cast<int>(axis)));
        require_numel("reduce", "y", y, out);
        if (overlaps(py, out, px, x.numel())) [[unlikely]]
            fail("reduce: y overlaps x");
        if (out == 0) return;
        if (extent == 0 && op != ReduceOp::sum) [[unlikely]]
            fail("reduce: mean, max and argmax of an empty axis are undefined (x has shape " +
                 x.shape().str() + ")");
        if (axis == Axis::rows)
            reduce_over_rows(op, px, rows, cols, py);
        else if (axis == Axis::cols)
            reduce_within_rows(op, px, rows, cols, py);
        else
            reduce_within_rows(op, px, 1, rows * cols, py);
    }

    void softmax(const Tensor& x, const Tensor& y, bool log) override {
        flush_subnormals();
        const float* px = data(x, "softmax", "x");
        float* py = data(y, "softmax", "y");
        const std::size_t rows = x.rows(), cols = x.cols();
        require_numel("softmax", "y", y, x.numel());
        if (cols == 0) return;
        for (std::size_t r = 0; r < rows; ++r) {
            const float* xr = px + r * cols;
            float* yr = py + r * cols;
            float m = xr[0];
#pragma omp simd reduction(max : m)
            for (std::size_t c = 1; c < cols; ++c) m = xr[c] > m ? xr[c] : m;
            double s = 0.0;
            if (log) {
                // y is written only after the sum, so y may alias x; (x - m) is exact, which
                // keeps rows like [1000, 1001] accurate where x - (m + log s) would round.
                for (std::size_t c = 0; c < cols; ++c) s += std::exp(xr[c] - m);
                const float log_s = static_cast<float>(std::log(s));
                for (std::size_t c = 0; c < cols; ++c) yr[c] = (xr[c] - m) - log_s;
            } else {
                for (std::size_t c = 0; c < cols; ++c) {
                    const float e = std::exp(xr[c] - m);
                    yr[c] = e;
                    s += e;
                }
                const float inv = static_cast<float>(1.0 / s);
                for (std::size_t c = 0; c < cols; ++c) yr[c] *= inv;
            }
        }
    }

    void softmax_backward(const Tensor& y, const Tensor& dy, const Tensor& dx) override {
        flush_subnormals();
        const float* py = data(y, "softmax_backward", "y");
        const float* pdy = data(dy, "softmax_backward", "dy");
        float* pdx = data(dx, "softmax_backward", "dx");
        const std::size_t rows = y.rows(), cols = y.cols();
        require_numel("softmax_backward", "dy", dy, y.numel());
        require_numel("softmax_backward", "dx", dx, y.numel());
        for (std::size_t r = 0; r < rows; ++r) {
            const float* yr = py + r * cols;
            const float* gr = pdy + r * cols;
            float* dr = pdx + r * cols;
            float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
            for (std::size_t c = 0; c < cols; ++c) dot += gr[c] * yr[c];
            for (std::size_t c = 0; c < cols; ++c) dr[c] = yr[c] * (gr[c] - dot);
        }
    }

    void random(Distribution dist, std::uint64_t seed, std::uint64_t counter, const Tensor& y,
                float a, float b) override {
        flush_subnormals();
        float* py = data(y, "random", "y");
        const std::size_t n = y.numel();
        switch (dist) {
            case Distribution::uniform: {
                if (!(a <= b) || !std::isfinite(a) || !std::isfinite(b)) [[unlikely]]
                    fail("random: uniform needs finite a <= b, got a=" + std::to_string(a) +
                         " b=" + std::to_string(b));
                // a + (b - a) * u can round up to b; clamp to keep the interval half-open.
                const float top = b > a ? std::nextafter(b, a) : a, width = b - a;
                return fill_random(py, n, seed, counter, [=](const Block& r) {
                    std::array<float, 4> v;
                    for (int j = 0; j < 4; ++j) v[j] = std::min(a + width * unit(r[j]), top);
                    return v;
                });
            }
            case Distribution::normal: {
                if (!(b >= 0.0f) || !std::isfinite(a) || !std::isfinite(b)) [[unlikely]]
                    fail(
                        "random: normal needs a finite mean a and standard deviation b >= 0, "
                        "got a=" +
                        std::to_string(a) + " b=" + std::to_string(b));
                return fill_random(py, n, seed, counter, [=](const Block& r) {
                    std::array<float, 4> v;
                    box_muller(r[0], r[1], &v[0]);
                    box_muller(r[2], r[3], &v[2]);
                    for (float& z : v) z = a + b * z;
                    return v;
                });
            }
            case Distribution::bernoulli: {
                if (!(a >= 0.0f && a <= 1.0f)) [[unlikely]]
                    fail("random: bernoulli needs a probability a in [0, 1], got a=" +
                         std::to_string(a));
                return fill_random(py, n, seed, counter, [=](const Block& r) {
                    std::array<float, 4> v;
                    for (int j = 0; j < 4; ++j) v[j] = unit(r[j]) < a ? 1.0f : 0.0f;
                    return v;
                });
            }
        }
        fail("random: unknown distribution " + std::to_string(static_cast<int>(dist)));
    }

    // Fused kernels, by key; the layouts are documented by the layers and optimizers that use
    // them.
    bool try_fused(std::string_view key, const plexus::FusedArgs& args) override {
        flush_subnormals();
        if (key == "batchnorm.forward") {
            batchnorm_forward(args);
            return true;
        }
        if (key == "batchnorm.backward") {
            batchnorm_backward(args);
            return true;
        }
        return fused_optimizer(key, args);
    }

protected:
    void* allocate(std::size_t bytes) override {
        // aligned_alloc wants a multiple of the alignment; the guard keeps the round-up from
        // wrapping around for absurd sizes.
        void* p =
            bytes <= SIZE_MAX - kAlignment
                ? std::aligned_alloc(kAlignment, (bytes + kAlignment - 1) / kAlignment * kAlignment)
                : nullptr;
        if (!p) [[unlikely]]
            fail("out of memory allocating " + std::to_string(bytes) + " bytes (" +
                 std::to_string(bytes >> 20) + " MiB); reduce the batch size or the model");
        return p;
    }

    void deallocate(void* handle) noexcept override {
        std::free(handle);
    }

    void write(void* handle, std::size_t offset_bytes, const void* src,
               std::size_t bytes) override {
        std::memcpy(static_cast<char*>(handle) + offset_bytes, src, bytes);
    }

    void read(const void* handle, std::size_t offset_bytes, void* dst, std::size_t bytes) override {
        std::memcpy(dst, static_cast<const char*>(handle) + offset_bytes, bytes);
    }

private:
    float* data(const Tensor& t, const char* op, const char* what) const {
        if (t.device() != this) [[unlikely]]
            fail_foreign(op, what);
        return static_cast<float*>(t.handle()) + t.offset();
    }

    // A fused operand that may be absent (nullptr); present, it needs `numel` elements.
    float* optional(const Tensor* t, const char* op, const char* what, std::size_t numel) const {
        if (!t) return nullptr;
        require_numel(op, what, *t, numel);
        return data(*t, op, what);
    }
    float* required(const Tensor* t, const char* op, const char* what, std::size_t numel) const {
        if (!t) [[unlikely]]
            fail(std::string(op) + ": operand '" + what + "' is missing");
        return optional(t, op, what, numel);
    }

    // inputs {x [n,f], gamma|null, beta|null (, moving_mean, moving_var in infer)};
    // outputs train {y, xhat, mean, invstd, moving_mean, moving_var}, infer {y};
    // scalars {epsilon, momentum, train (1) or infer (0)}.
    void batchnorm_forward(const plexus::FusedArgs& args) const {
        constexpr const char* op = "batchnorm.forward";
        if (args.scalars.size() != 3 || args.inputs.size() < 3 || !args.inputs[0]) [[unlikely]]
            fail(std::string(op) + ": expected 3 scalars and inputs {x, gamma, beta, ...}");
        const bool train = args.scalars[2] != 0.0f;
        const Tensor& x = *args.inputs[0];
        const std::size_t n = x.rows(), f = x.cols(), nf = n * f;
        if (args.inputs.size() != (train ? 3u : 5u) || args.outputs.size() != (train ? 6u : 1u))
            [[unlikely]]
            fail(std::string(op) + (train ? ": train mode takes 3 inputs and 6 outputs"
                                          : ": infer mode takes 5 inputs and 1 output"));
        cpu_fused::BatchNormForward a{};
        a.x = data(x, op, "x");
        a.gamma = optional(args.inputs[1], op, "gamma", f);
        a.beta = optional(args.inputs[2], op, "beta", f);
        a.y = required(args.outputs[0], op, "y", nf);
        a.n = n;
        a.f = f;
        a.epsilon = args.scalars[0];
        a.momentum = args.scalars[1];
        if (!train) {
            a.moving_mean = required(args.inputs[3], op, "moving_mean", f);
            a.moving_var = required(args.inputs[4], op, "moving_variance", f);
            return cpu_fused::batchnorm_forward_infer(a);
        }
        a.xhat = required(args.outputs[1], op, "xhat", nf);
        a.mean = required(args.outputs[2], op, "mean", f);
        a.invstd = required(args.outputs[3], op, "invstd", f);
        a.moving_mean = required(args.outputs[4], op, "moving_mean", f);
        a.moving_var = required(args.outputs[5], op, "moving_variance", f);
        if (n < 2) [[unlikely]]
            fail(std::string(op) + ": a training batch needs at least 2 rows, got " +
                 x.shape().str());
        cpu_fused::batchnorm_forward_train(a);
    }

    // inputs {dy [n,f], xhat [n,f], gamma|null, invstd [f]}; outputs {dx|null, dgamma, dbeta}.
    void batchnorm_backward(const plexus::FusedArgs& args) const {
        constexpr const char* op = "batchnorm.backward";
        if (args.inputs.size() != 4 || args.outputs.size() != 3 || !args.inputs[0]) [[unlikely]]
            fail(std::string(op) + ": expected inputs {dy, xhat, gamma, invstd} and outputs "
                                   "{dx, dgamma, dbeta}");
        const Tensor& dy = *args.inputs[0];
        const std::size_t n = dy.rows(), f = dy.cols(), nf = n * f;
        cpu_fused::BatchNormBackward a{};
        a.dy = data(dy, op, "dy");
        a.xhat = required(args.inputs[1], op, "xhat", nf);
        a.gamma = optional(args.inputs[2], op, "gamma", f);
        a.invstd = required(args.inputs[3], op, "invstd", f);
        a.dx = optional(args.outputs[0], op, "dx", nf);
        a.dgamma = required(args.outputs[1], op, "dgamma", f);
        a.dbeta = required(args.outputs[2], op, "dbeta", f);
        a.n = n;
        a.f = f;
        cpu_fused::batchnorm_backward(a);
    }

    // ---- fused optimizer updates; layouts in plugins/optimizers/{adam,sgd}/README.md

    bool fused_optimizer(std::string_view key, const plexus::FusedArgs& args) const {
        if (key == "adam.update") {
            adam_update(args);
            return true;
        }
        if (key == "sgd.momentum_update") {
            sgd_momentum_update(args);
            return true;
        }
        return false;
    }

    // inputs {grad}; outputs {value, m, v} or {value, m, v, v_max} (AMSGrad); scalars {lr,
    // beta1, beta2, epsilon, bias_correction1, bias_correction2, weight_decay, grad_scale,
    // clipvalue}.
    void adam_update(const plexus::FusedArgs& args) const {
        constexpr const char* op = "adam.update";
        const std::size_t no = args.outputs.size();
        if (args.inputs.size() != 1 || (no != 3 && no != 4) || args.scalars.size() != 9 ||
            !args.inputs[0]) [[unlikely]]
            fail(std::string(op) + ": expected inputs {grad}, outputs {value, m, v[, v_max]} "
                                   "and 9 scalars");
        const Tensor& g = *args.inputs[0];
        const std::size_t n = g.numel();
        const auto s = args.scalars;
        cpu_fused::adam_update({data(g, op, "grad"), required(args.outputs[0], op, "value", n),
                                required(args.outputs[1], op, "m", n),
                                required(args.outputs[2], op, "v", n),
                                no == 4 ? required(args.outputs[3], op, "v_max", n) : nullptr, n,
                                s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8]});
    }

    // inputs {grad}; outputs {value, velocity}; scalars {lr, momentum, nesterov (0 or 1),
    // weight_decay, grad_scale, clipvalue}.
    void sgd_momentum_update(const plexus::FusedArgs& args) const {
        constexpr const char* op = "sgd.momentum_update";
        if (args.inputs.size() != 1 || args.outputs.size() != 2 || args.scalars.size() != 6 ||
            !args.inputs[0]) [[unlikely]]
            fail(std::string(op) + ": expected inputs {grad}, outputs {value, velocity} and "
                                   "6 scalars");
        const Tensor& g = *args.inputs[0];
        const std::size_t n = g.numel();
        const auto s = args.scalars;
        cpu_fused::sgd_momentum_update({data(g, op, "grad"),
                                        required(args.outputs[0], op, "value", n),
                                        required(args.outputs[1], op, "velocity", n), n, s[0],
                                        s[1], s[3], s[2] != 0.0f, s[4], s[5]});
    }
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<CpuDevice>("cpu", "0.1.0",
                                           "CPU device: OpenBLAS GEMM, Armadillo views and vectorised loops", kParams))
