// CPU device: OpenBLAS for GEMM, plain loops for everything else.
//
// It is the reference every other device is compared against, so outside gemm the code
// favours obvious loops (compiled -O3, reductions marked `omp simd`) over clever kernels.
// Ops run synchronously on the calling thread; only GEMM fans out, on OpenBLAS's own pool,
// which keeps one owner of the cores (DESIGN §7). No op allocates.
#include <cblas.h>

#include <armadillo>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "checks.hpp"
#include "fused_args.hpp"
#include "kernels.hpp"
#include "random.hpp"
#include "plexus/device.hpp"
#include "plexus/plugin.hpp"

namespace {

using plexus::Axis;
using plexus::BinaryOp;
using plexus::Distribution;
using plexus::ReduceOp;
using plexus::Tensor;
using plexus::Transpose;
using plexus::UnaryOp;

// This device's own helpers: checks.hpp, kernels.hpp, random.hpp and fused_args.hpp. Only
// this file includes them and their functions are static, so each has internal linkage and
// GCC may inline, clone or drop it as freely as if it were written here.
using namespace plexus_cpu;

constexpr plexus::ParamSpec kParams[] = {
    {"threads", plexus::ParamType::integer, "0", 0, 1024, nullptr,
     "OpenBLAS threads for GEMM; 0 keeps OpenBLAS's default (OPENBLAS_NUM_THREADS, else one "
     "per core). The setting is process-wide."},
};

constexpr std::size_t kAlignment = 64;  // a cache line, and a full AVX-512 register

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
        softmax_rows(px, py, rows, cols, log);
    }

    void softmax_backward(const Tensor& y, const Tensor& dy, const Tensor& dx) override {
        flush_subnormals();
        const float* py = data(y, "softmax_backward", "y");
        const float* pdy = data(dy, "softmax_backward", "dy");
        float* pdx = data(dx, "softmax_backward", "dx");
        const std::size_t rows = y.rows(), cols = y.cols();
        require_numel("softmax_backward", "dy", dy, y.numel());
        require_numel("softmax_backward", "dx", dx, y.numel());
        softmax_backward_rows(py, pdy, pdx, rows, cols);
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
                return fill_uniform(py, n, seed, counter, a, b);
            }
            case Distribution::normal: {
                if (!(b >= 0.0f) || !std::isfinite(a) || !std::isfinite(b)) [[unlikely]]
                    fail(
                        "random: normal needs a finite mean a and standard deviation b >= 0, "
                        "got a=" +
                        std::to_string(a) + " b=" + std::to_string(b));
                return fill_normal(py, n, seed, counter, a, b);
            }
            case Distribution::bernoulli: {
                if (!(a >= 0.0f && a <= 1.0f)) [[unlikely]]
                    fail("random: bernoulli needs a probability a in [0, 1], got a=" +
                         std::to_string(a));
                return fill_bernoulli(py, n, seed, counter, a);
            }
        }
        fail("random: unknown distribution " + std::to_string(static_cast<int>(dist)));
    }

    // Fused kernels, by key; the layouts are documented by the layers and optimizers that use
    // them.
    bool try_fused(std::string_view key, const plexus::FusedArgs& args) override {
        flush_subnormals();
        if (key == "batchnorm.forward") {
            fused_batchnorm_forward(this, args);
            return true;
        }
        if (key == "batchnorm.backward") {
            fused_batchnorm_backward(this, args);
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
        return tensor_data(this, t, op, what);
    }

    bool fused_optimizer(std::string_view key, const plexus::FusedArgs& args) const {
        if (key == "adam.update") {
            fused_adam_update(this, args);
            return true;
        }
        if (key == "sgd.momentum_update") {
            fused_sgd_momentum_update(this, args);
            return true;
        }
        return false;
    }
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<CpuDevice>("cpu", "0.1.0",
                                           "CPU device: OpenBLAS GEMM, Armadillo views and vectorised loops", kParams))
