// The CPU device's fused batch normalization on [n, f, spatial] tensors (spatial > 1), e.g.
// NCHW images: feature c of sample r is the plane of `spatial` contiguous floats at
// (r*f + c)*spatial, and its statistics are taken over its n planes. No transpose to
// [n*spatial, f] and no strided columns as in fused_batchnorm.hpp (which keeps the
// spatial = 1 case). The kernels take a range of features so the device can split features
// over its helper threads; every feature is summed in the same order whatever the split.
// Operands are the structs of fused_batchnorm.hpp. No allocation.
// No include guard: cpu_device.inc includes this once per instruction set.

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace cpu_fused {

// Double sums kept in kLanes independent lanes, so the loop over a plane vectorises (one
// double chain would serialise on the add latency); the lanes are added in a fixed order.
struct LaneSums {
    static constexpr std::size_t kLanes = 8;
    double a[kLanes] = {}, b[kLanes] = {};

    // a += v - pivot, b += (v - pivot)^2 over v[0, count).
    void centred(const float* v, std::size_t count, double pivot) {
        double sa[kLanes], sb[kLanes];
        for (std::size_t k = 0; k < kLanes; ++k) sa[k] = a[k], sb[k] = b[k];
        std::size_t i = 0;
        for (; i + kLanes <= count; i += kLanes) {
            double d[kLanes];
            for (std::size_t k = 0; k < kLanes; ++k) d[k] = static_cast<double>(v[i + k]) - pivot;
            for (std::size_t k = 0; k < kLanes; ++k) sa[k] += d[k];
            for (std::size_t k = 0; k < kLanes; ++k) sb[k] += d[k] * d[k];
        }
        for (std::size_t k = 0; k < count - i; ++k) {  // the tail, under kLanes values
            const double d = static_cast<double>(v[i + k]) - pivot;
            sa[k] += d;
            sb[k] += d * d;
        }
        for (std::size_t k = 0; k < kLanes; ++k) a[k] = sa[k], b[k] = sb[k];
    }
    // a += u, b += u * v over u[0, count), v[0, count).
    void products(const float* u, const float* v, std::size_t count) {
        double sa[kLanes], sb[kLanes];
        for (std::size_t k = 0; k < kLanes; ++k) sa[k] = a[k], sb[k] = b[k];
        std::size_t i = 0;
        for (; i + kLanes <= count; i += kLanes) {
            for (std::size_t k = 0; k < kLanes; ++k) sa[k] += u[i + k];
            for (std::size_t k = 0; k < kLanes; ++k)
                sb[k] += static_cast<double>(u[i + k]) * v[i + k];
        }
        for (std::size_t k = 0; k < count - i; ++k) {
            sa[k] += u[i + k];
            sb[k] += static_cast<double>(u[i + k]) * v[i + k];
        }
        for (std::size_t k = 0; k < kLanes; ++k) a[k] = sa[k], b[k] = sb[k];
    }
    double total_a() const { return total(a); }
    double total_b() const { return total(b); }

private:
    static double total(const double (&lane)[kLanes]) {
        double s = 0.0;
        for (double v : lane) s += v;
        return s;
    }
};

// Channels per block: each block's planes are read sample by sample, so the block is one
// contiguous run of memory per sample and the hardware prefetcher streams it (a channel at a
// time would restart it on every plane). 64 channels of sums are 8 KiB of stack.
constexpr std::size_t kPlaneChannels = 64;

// Train mode on features [c_begin, c_end): as batchnorm_forward_train, with the sums taken
// around the feature's first value (sample 0's plane) over its n*spatial values.
inline void batchnorm_forward_train_planes(const BatchNormForward& a, std::size_t c_begin,
                                           std::size_t c_end) {
    const std::size_t s = a.spatial, stride = a.f * s;
    const double inv_m = 1.0 / static_cast<double>(a.n * s);
    for (std::size_t c0 = c_begin; c0 < c_end; c0 += kPlaneChannels) {
        const std::size_t w = std::min(kPlaneChannels, c_end - c0);
        LaneSums sums[kPlaneChannels];
        float mu[kPlaneChannels], is[kPlaneChannels], g[kPlaneChannels], b[kPlaneChannels];
        for (std::size_t r = 0; r < a.n; ++r)
            for (std::size_t j = 0; j < w; ++j) {
                const std::size_t c = c0 + j;
                sums[j].centred(a.x + r * stride + c * s, s, a.x[c * s]);
            }
        for (std::size_t j = 0; j < w; ++j) {
            const std::size_t c = c0 + j;
            const double m = sums[j].total_a() * inv_m;
            const double var = std::max(sums[j].total_b() * inv_m - m * m, 0.0);  // biased
            mu[j] = static_cast<float>(a.x[c * s] + m);
            is[j] = static_cast<float>(1.0 / std::sqrt(var + a.epsilon));
            g[j] = a.gamma ? a.gamma[c] : 1.0f;
            b[j] = a.beta ? a.beta[c] : 0.0f;
            a.mean[c] = mu[j];
            a.invstd[c] = is[j];
            a.moving_mean[c] = a.momentum * a.moving_mean[c] + (1.0f - a.momentum) * mu[j];
            a.moving_var[c] =
                a.momentum * a.moving_var[c] + (1.0f - a.momentum) * static_cast<float>(var);
        }
        // y may alias x: every pivot x[c * s] was read above.
        for (std::size_t r = 0; r < a.n; ++r)
            for (std::size_t j = 0; j < w; ++j) {
                const std::size_t at = r * stride + (c0 + j) * s;
                const float* xp = a.x + at;
                float* hp = a.xhat + at;
                float* yp = a.y + at;
                const float m = mu[j], k = is[j], gj = g[j], bj = b[j];
                for (std::size_t i = 0; i < s; ++i) {
                    const float h = (xp[i] - m) * k;
                    hp[i] = h;
                    yp[i] = h * gj + bj;
                }
            }
    }
}

// Infer mode on features [c_begin, c_end): y = x * coef + shift, as batchnorm_forward_infer.
inline void batchnorm_forward_infer_planes(const BatchNormForward& a, std::size_t c_begin,
                                           std::size_t c_end) {
    const std::size_t s = a.spatial, stride = a.f * s;
    for (std::size_t r = 0; r < a.n; ++r)
        for (std::size_t c = c_begin; c < c_end; ++c) {
            const float coef =
                (a.gamma ? a.gamma[c] : 1.0f) / std::sqrt(a.moving_var[c] + a.epsilon);
            const float shift = (a.beta ? a.beta[c] : 0.0f) - a.moving_mean[c] * coef;
            const float* xp = a.x + r * stride + c * s;
            float* yp = a.y + r * stride + c * s;
            for (std::size_t i = 0; i < s; ++i) yp[i] = xp[i] * coef + shift;
        }
}

// Backward on features [c_begin, c_end), as batchnorm_backward with M = n*spatial values
// per feature: dx = gamma*invstd/M * (M*dy - sum(dy) - xhat*sum(dy*xhat)).
inline void batchnorm_backward_planes(const BatchNormBackward& a, std::size_t c_begin,
                                      std::size_t c_end) {
    const std::size_t s = a.spatial, stride = a.f * s;
    const float fm = static_cast<float>(a.n * s);
    for (std::size_t c0 = c_begin; c0 < c_end; c0 += kPlaneChannels) {
        const std::size_t w = std::min(kPlaneChannels, c_end - c0);
        LaneSums sums[kPlaneChannels];
        float s1[kPlaneChannels], s2[kPlaneChannels], k[kPlaneChannels];
        for (std::size_t r = 0; r < a.n; ++r)
            for (std::size_t j = 0; j < w; ++j) {
                const std::size_t at = r * stride + (c0 + j) * s;
                sums[j].products(a.dy + at, a.xhat + at, s);
            }
        for (std::size_t j = 0; j < w; ++j) {
            const std::size_t c = c0 + j;
            s1[j] = static_cast<float>(sums[j].total_a());
            s2[j] = static_cast<float>(sums[j].total_b());
            a.dbeta[c] = s1[j];
            a.dgamma[c] = s2[j];
            k[j] = (a.gamma ? a.gamma[c] : 1.0f) * a.invstd[c] / fm;
        }
        if (!a.dx) continue;
        for (std::size_t r = 0; r < a.n; ++r)
            for (std::size_t j = 0; j < w; ++j) {
                const std::size_t at = r * stride + (c0 + j) * s;
                const float* gp = a.dy + at;
                const float* hp = a.xhat + at;
                float* dp = a.dx + at;
                const float kj = k[j], t1 = s1[j], t2 = s2[j];
                for (std::size_t i = 0; i < s; ++i) dp[i] = kj * (fm * gp[i] - t1 - hp[i] * t2);
            }
    }
}

}  // namespace cpu_fused
