// Loops behind the CPU device's elementwise, reduce and softmax ops (see plugin.cpp): plain
// loops, compiled -O3, with reductions marked `omp simd`. The callers check shapes and
// operands; these only compute. No allocation. Only cpu_device.inc includes this (see plugin.cpp
// for why the functions are static).
// No include guard: cpu_device.inc includes this once per instruction set.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>

#include "plexus/device.hpp"

namespace plexus_cpu {

// Reductions over the batch accumulate this many columns at a time in a stack buffer of
// doubles, so sums over many rows keep their precision without a heap temporary.
constexpr std::size_t kBlock = 256;

// ---- elementwise kernels: one loop per op, the lambda inlined so each loop vectorises

template <class F>
static void map(const float* x, float* y, std::size_t n, F f) {
    for (std::size_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

// b is elementwise (nb == rows*cols), one row broadcast over every row (nb == cols), or a
// scalar; the elementwise reading wins where shapes make two readings possible.
template <class F>
static void zip(const float* a, const float* b, float* y, std::size_t rows, std::size_t cols,
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

// Row-major c (m x n, leading dimension n) = alpha op(a) op(b) + beta c for a small K, as
// rank-1 updates; c is not read when beta == 0. op(a) is m x k (a stored k x m when ta),
// op(b) k x n (b stored n x k when tb); lda, ldb as BLAS.
static void small_k_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha,
                         const float* a, std::size_t lda, const float* b, std::size_t ldb,
                         float beta, float* c) {
    for (std::size_t i = 0; i < m; ++i) {
        float* ci = c + i * n;
        if (beta == 0.0f)
            std::fill_n(ci, n, 0.0f);
        else if (beta != 1.0f)
            for (std::size_t j = 0; j < n; ++j) ci[j] *= beta;
        for (std::size_t p = 0; p < k; ++p) {
            const float aip = alpha * (ta ? a[p * lda + i] : a[i * lda + p]);
            if (tb)
                for (std::size_t j = 0; j < n; ++j) ci[j] += aip * b[j * ldb + p];
            else {
                const float* bp = b + p * ldb;
                for (std::size_t j = 0; j < n; ++j) ci[j] += aip * bp[j];
            }
        }
    }
}

// ---- reductions. Sums accumulate in double: float sums of a whole tensor drift visibly.

// Reduces each row of a [rows, cols] matrix to one value; Axis::all is the 1×n case.
static void reduce_within_rows(plexus::ReduceOp op, const float* x, std::size_t rows,
                               std::size_t cols, float* y) {
    using plexus::ReduceOp;
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
            case ReduceOp::count:  // rejected by the caller
                break;
        }
    }
}

// Reduces over the rows (the batch) into one value per column, a block of columns at a time
// so the running values stay in registers/L1 while the rows stream past.
static void reduce_over_rows(plexus::ReduceOp op, const float* x, std::size_t rows,
                             std::size_t cols, float* y) {
    using plexus::ReduceOp;
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
            case ReduceOp::count:  // rejected by the caller
                break;
        }
    }
}

// ---- softmax over each row of a [rows, cols] matrix (cols > 0), and its backward pass

static float row_max(const float* x, std::size_t cols) {
    float m = x[0];
#pragma omp simd reduction(max : m)
    for (std::size_t c = 1; c < cols; ++c) m = x[c] > m ? x[c] : m;
    return m;
}

// e = exp(x - max x) for one row (e may alias x); returns 1 / sum(e), the sum taken in double.
static float exp_row(const float* x, float* e, std::size_t cols) {
    const float m = row_max(x, cols);
    double s = 0.0;
    for (std::size_t c = 0; c < cols; ++c) {
        const float v = std::exp(x[c] - m);
        e[c] = v;
        s += v;
    }
    return static_cast<float>(1.0 / s);
}

static void softmax_rows(const float* x, float* y, std::size_t rows, std::size_t cols, bool log) {
    for (std::size_t r = 0; r < rows; ++r) {
        const float* xr = x + r * cols;
        float* yr = y + r * cols;
        if (log) {
            // y is written only after the sum, so y may alias x; (x - m) is exact, which
            // keeps rows like [1000, 1001] accurate where x - (m + log s) would round.
            const float m = row_max(xr, cols);
            double s = 0.0;
            for (std::size_t c = 0; c < cols; ++c) s += std::exp(xr[c] - m);
            const float log_s = static_cast<float>(std::log(s));
            for (std::size_t c = 0; c < cols; ++c) yr[c] = (xr[c] - m) - log_s;
        } else {
            const float inv = exp_row(xr, yr, cols);
            for (std::size_t c = 0; c < cols; ++c) yr[c] *= inv;
        }
    }
}

// The softmax cross-entropy gradient in one pass per row: dx = (softmax(x) - t) * scale,
// with softmax_rows's arithmetic, then the subtraction and the scaling as the primitive path
// (softmax, binary sub, unary scale) rounds them.
static void softmax_cross_entropy_backward_rows(const float* x, const float* t, float* dx,
                                                std::size_t rows, std::size_t cols, float scale) {
    for (std::size_t r = 0; r < rows; ++r) {
        const float* tr = t + r * cols;
        float* dr = dx + r * cols;
        const float inv = exp_row(x + r * cols, dr, cols);
        for (std::size_t c = 0; c < cols; ++c) dr[c] = scale * (dr[c] * inv - tr[c]);
    }
}

static void softmax_backward_rows(const float* y, const float* dy, float* dx, std::size_t rows,
                                  std::size_t cols) {
    for (std::size_t r = 0; r < rows; ++r) {
        const float* yr = y + r * cols;
        const float* gr = dy + r * cols;
        float* dr = dx + r * cols;
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (std::size_t c = 0; c < cols; ++c) dot += gr[c] * yr[c];
        for (std::size_t c = 0; c < cols; ++c) dr[c] = yr[c] * (gr[c] - dot);
    }
}

}  // namespace plexus_cpu
