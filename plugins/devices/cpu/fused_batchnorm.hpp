// Fused batch-normalization kernels for the CPU device (the keys batchnorm.forward_train,
// batchnorm.forward_infer and batchnorm.backward of plexus/fused.hpp).
//
// The primitive path reads and writes [batch, features] tensors 6-8 times per pass; these read
// each input once for the column statistics and once more to write the outputs. Columns are
// strided in a row-major tensor, so a block of columns is accumulated at a time in stack
// arrays while the rows stream past, as the device's reduce_over_rows does. No allocation.
// [n, f, spatial] tensors with spatial > 1 (NCHW images) go to fused_batchnorm_planes.hpp.
// No include guard: cpu_device.inc includes this once per instruction set.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>

namespace cpu_fused {

constexpr std::size_t kColumns = 256;  // columns per block: 2 KiB of doubles per accumulator

struct BatchNormForward {
    const float* x;      // [n, f]
    const float* gamma;  // [f] or null (scale = false: gamma is 1)
    const float* beta;   // [f] or null (center = false: beta is 0)
    float* y;            // [n, f]; may alias x
    float* xhat;         // [n, f] normalised x, saved for backward (train only)
    float* mean;         // [f] batch mean (train only)
    float* invstd;       // [f] 1/sqrt(batch var + eps) (train only)
    float* moving_mean;  // [f] updated in train, read in infer
    float* moving_var;   // [f]
    std::size_t n, f;
    std::size_t spatial;  // values per feature per sample; the kernels here take 1 only
    float epsilon, momentum;
};

// Train mode. The sums are taken around each column's first value in double, so a feature
// with a large mean and a small spread does not lose its variance to cancellation.
inline void batchnorm_forward_train(const BatchNormForward& a) {
    const double inv_n = 1.0 / static_cast<double>(a.n);
    for (std::size_t c0 = 0; c0 < a.f; c0 += kColumns) {
        const std::size_t w = std::min(kColumns, a.f - c0);
        std::array<double, kColumns> s{}, q{};
        std::array<float, kColumns> mu, is, g, b;
        const float* pivot = a.x + c0;
        for (std::size_t r = 0; r < a.n; ++r) {
            const float* xr = a.x + r * a.f + c0;
            for (std::size_t j = 0; j < w; ++j) {
                const double d = static_cast<double>(xr[j]) - pivot[j];
                s[j] += d;
                q[j] += d * d;
            }
        }
        for (std::size_t j = 0; j < w; ++j) {
            const std::size_t c = c0 + j;
            const double m = s[j] * inv_n;
            const double var = std::max(q[j] * inv_n - m * m, 0.0);  // biased, as in the paper
            const double mean = pivot[j] + m;
            mu[j] = static_cast<float>(mean);
            is[j] = static_cast<float>(1.0 / std::sqrt(var + a.epsilon));
            g[j] = a.gamma ? a.gamma[c] : 1.0f;
            b[j] = a.beta ? a.beta[c] : 0.0f;
            a.mean[c] = mu[j];
            a.invstd[c] = is[j];
            a.moving_mean[c] = a.momentum * a.moving_mean[c] + (1.0f - a.momentum) * mu[j];
            a.moving_var[c] =
                a.momentum * a.moving_var[c] + (1.0f - a.momentum) * static_cast<float>(var);
        }
        for (std::size_t r = 0; r < a.n; ++r) {
            const float* xr = a.x + r * a.f + c0;
            float* hr = a.xhat + r * a.f + c0;
            float* yr = a.y + r * a.f + c0;
            for (std::size_t j = 0; j < w; ++j) {
                const float h = (xr[j] - mu[j]) * is[j];
                hr[j] = h;
                yr[j] = h * g[j] + b[j];
            }
        }
    }
}

// Infer mode: the running statistics folded into y = x * coef + shift.
inline void batchnorm_forward_infer(const BatchNormForward& a) {
    for (std::size_t c0 = 0; c0 < a.f; c0 += kColumns) {
        const std::size_t w = std::min(kColumns, a.f - c0);
        std::array<float, kColumns> coef, shift;
        for (std::size_t j = 0; j < w; ++j) {
            const std::size_t c = c0 + j;
            coef[j] = (a.gamma ? a.gamma[c] : 1.0f) / std::sqrt(a.moving_var[c] + a.epsilon);
            shift[j] = (a.beta ? a.beta[c] : 0.0f) - a.moving_mean[c] * coef[j];
        }
        for (std::size_t r = 0; r < a.n; ++r) {
            const float* xr = a.x + r * a.f + c0;
            float* yr = a.y + r * a.f + c0;
            for (std::size_t j = 0; j < w; ++j) yr[j] = xr[j] * coef[j] + shift[j];
        }
    }
}

struct BatchNormBackward {
    const float* dy;      // [n, f]
    const float* xhat;    // [n, f] from the train forward
    const float* gamma;   // [f] or null
    const float* invstd;  // [f] from the train forward
    float* dx;            // [n, f] or null; may alias dy
    float* dgamma;        // [f] sum(dy * xhat)
    float* dbeta;         // [f] sum(dy)
    std::size_t n, f;
    std::size_t spatial;  // as BatchNormForward's
};

// dx = gamma*invstd/N * (N*dy - sum(dy) - xhat*sum(dy*xhat)).
inline void batchnorm_backward(const BatchNormBackward& a) {
    const float fn = static_cast<float>(a.n);
    for (std::size_t c0 = 0; c0 < a.f; c0 += kColumns) {
        const std::size_t w = std::min(kColumns, a.f - c0);
        std::array<double, kColumns> sdy{}, sdyx{};
        for (std::size_t r = 0; r < a.n; ++r) {
            const float* gr = a.dy + r * a.f + c0;
            const float* hr = a.xhat + r * a.f + c0;
            for (std::size_t j = 0; j < w; ++j) {
                sdy[j] += gr[j];
                sdyx[j] += static_cast<double>(gr[j]) * hr[j];
            }
        }
        std::array<float, kColumns> k, s1, s2;
        for (std::size_t j = 0; j < w; ++j) {
            const std::size_t c = c0 + j;
            s1[j] = static_cast<float>(sdy[j]);
            s2[j] = static_cast<float>(sdyx[j]);
            a.dbeta[c] = s1[j];
            a.dgamma[c] = s2[j];
            k[j] = (a.gamma ? a.gamma[c] : 1.0f) * a.invstd[c] / fn;
        }
        if (!a.dx) continue;
        for (std::size_t r = 0; r < a.n; ++r) {
            const float* gr = a.dy + r * a.f + c0;
            const float* hr = a.xhat + r * a.f + c0;
            float* dr = a.dx + r * a.f + c0;
            for (std::size_t j = 0; j < w; ++j)
                dr[j] = k[j] * (fn * gr[j] - s1[j] - hr[j] * s2[j]);
        }
    }
}

}  // namespace cpu_fused
