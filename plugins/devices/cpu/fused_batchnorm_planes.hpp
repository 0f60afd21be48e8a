// The CPU device's fused batch normalization on [n, f, spatial] tensors (spatial > 1), e.g.
// NCHW images: feature c of sample r is the plane of `spatial` contiguous floats at
// (r*f + c)*spatial. Its statistics are taken over its n planes, so each feature streams
// through contiguous memory, with no transpose to [n*spatial, f] and no column blocking as in
// fused_batchnorm.hpp (which keeps the spatial = 1 case). The kernels take a range of features
// so the device can split features over its helper threads; every feature is computed the same
// whatever the split. Operands are the structs of fused_batchnorm.hpp. No allocation.
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
        std::size_t i = 0;
        for (; i + kLanes <= count; i += kLanes)
            for (std::size_t k = 0; k < kLanes; ++k) {
                const double d = static_cast<double>(v[i + k]) - pivot;
                a[k] += d;
                b[k] += d * d;
            }
        for (std::size_t k = 0; i < count; ++i, ++k) {
            const double d = static_cast<double>(v[i]) - pivot;
            a[k] += d;
            b[k] += d * d;
        }
    }
    // a += u, b += u * v over u[0, count), v[0, count).
    void products(const float* u, const float* v, std::size_t count) {
        std::size_t i = 0;
        for (; i + kLanes <= count; i += kLanes)
            for (std::size_t k = 0; k < kLanes; ++k) {
                a[k] += u[i + k];
                b[k] += static_cast<double>(u[i + k]) * v[i + k];
            }
        for (std::size_t k = 0; i < count; ++i, ++k) {
            a[k] += u[i];
            b[k] += static_cast<double>(u[i]) * v[i];
        }
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

// Train mode on features [c_begin, c_end): as batchnorm_forward_train, with the sums taken
// around the feature's first value (sample 0's plane) over its n*spatial values.
inline void batchnorm_forward_train_planes(const BatchNormForward& a, std::size_t c_begin,
                                           std::size_t c_end) {
    const std::size_t s = a.spatial, stride = a.f * s;
    const double inv_m = 1.0 / static_cast<double>(a.n * s);
    for (std::size_t c = c_begin; c < c_end; ++c) {
        const float pivot = a.x[c * s];
        LaneSums sums;
        for (std::size_t r = 0; r < a.n; ++r) sums.centred(a.x + r * stride + c * s, s, pivot);
        const double m = sums.total_a() * inv_m;
        const double var = std::max(sums.total_b() * inv_m - m * m, 0.0);  // biased
        const float mu = static_cast<float>(pivot + m);
        const float is = static_cast<float>(1.0 / std::sqrt(var + a.epsilon));
        const float g = a.gamma ? a.gamma[c] : 1.0f, b = a.beta ? a.beta[c] : 0.0f;
        a.mean[c] = mu;
        a.invstd[c] = is;
        a.moving_mean[c] = a.momentum * a.moving_mean[c] + (1.0f - a.momentum) * mu;
        a.moving_var[c] =
            a.momentum * a.moving_var[c] + (1.0f - a.momentum) * static_cast<float>(var);
        for (std::size_t r = 0; r < a.n; ++r) {
            const std::size_t at = r * stride + c * s;
            const float* xp = a.x + at;
            float* hp = a.xhat + at;
            float* yp = a.y + at;
            for (std::size_t i = 0; i < s; ++i) {
                const float h = (xp[i] - mu) * is;
                hp[i] = h;
                yp[i] = h * g + b;
            }
        }
    }
}

// Infer mode on features [c_begin, c_end): y = x * coef + shift, as batchnorm_forward_infer.
inline void batchnorm_forward_infer_planes(const BatchNormForward& a, std::size_t c_begin,
                                           std::size_t c_end) {
    const std::size_t s = a.spatial, stride = a.f * s;
    for (std::size_t c = c_begin; c < c_end; ++c) {
        const float coef = (a.gamma ? a.gamma[c] : 1.0f) / std::sqrt(a.moving_var[c] + a.epsilon);
        const float shift = (a.beta ? a.beta[c] : 0.0f) - a.moving_mean[c] * coef;
        for (std::size_t r = 0; r < a.n; ++r) {
            const float* xp = a.x + r * stride + c * s;
            float* yp = a.y + r * stride + c * s;
            for (std::size_t i = 0; i < s; ++i) yp[i] = xp[i] * coef + shift;
        }
    }
}

// Backward on features [c_begin, c_end), as batchnorm_backward with M = n*spatial values
// per feature: dx = gamma*invstd/M * (M*dy - sum(dy) - xhat*sum(dy*xhat)).
inline void batchnorm_backward_planes(const BatchNormBackward& a, std::size_t c_begin,
                                      std::size_t c_end) {
    const std::size_t s = a.spatial, stride = a.f * s;
    const float fm = static_cast<float>(a.n * s);
    for (std::size_t c = c_begin; c < c_end; ++c) {
        LaneSums sums;
        for (std::size_t r = 0; r < a.n; ++r) {
            const std::size_t at = r * stride + c * s;
            sums.products(a.dy + at, a.xhat + at, s);
        }
        const float s1 = static_cast<float>(sums.total_a());
        const float s2 = static_cast<float>(sums.total_b());
        a.dbeta[c] = s1;
        a.dgamma[c] = s2;
        if (!a.dx) continue;
        const float k = (a.gamma ? a.gamma[c] : 1.0f) * a.invstd[c] / fm;
        for (std::size_t r = 0; r < a.n; ++r) {
            const std::size_t at = r * stride + c * s;
            const float* gp = a.dy + at;
            const float* hp = a.xhat + at;
            float* dp = a.dx + at;
            for (std::size_t i = 0; i < s; ++i) dp[i] = k * (fm * gp[i] - s1 - hp[i] * s2);
        }
    }
}

}  // namespace cpu_fused
