// Fused optimizer kernels for the CPU device (the keys adam.update and sgd.momentum_update of
// plexus/fused.hpp).
//
// The primitive path of one Adam step makes about ten passes over parameter-sized arrays;
// these make one, reading each array once and writing it once. Every expression follows
// the primitive path's order of operations, so both paths round alike. No allocation.
// No include guard: cpu_device.inc includes this once per instruction set.

#include <cmath>
#include <cstddef>
#include <limits>

namespace cpu_fused {

// Gradient clipping shared by the optimizer kernels: g·scale, then clamped to ±clip when
// clip > 0 (clipnorm's factor, then clipvalue, as the optimizers' primitive path).
struct GradClip {
    float scale, limit;
    GradClip(float grad_scale, float clipvalue)
        : scale(grad_scale),
          limit(clipvalue > 0.0f ? clipvalue : std::numeric_limits<float>::infinity()) {}
    float operator()(float g) const {
        const float s = scale != 1.0f ? scale * g : g;
        return s < -limit ? -limit : (s > limit ? limit : s);
    }
};

struct AdamUpdate {
    const float* grad;
    float* w;
    float* m;
    float* v;
    float* v_max;  // AMSGrad's running maximum, or null
    std::size_t n;
    float lr, beta1, beta2, epsilon, bias_correction1, bias_correction2, weight_decay;
    float grad_scale, clipvalue;

    // The same update restricted to elements [begin, begin + count).
    AdamUpdate slice(std::size_t begin, std::size_t count) const {
        AdamUpdate s = *this;
        s.grad += begin;
        s.w += begin;
        s.m += begin;
        s.v += begin;
        if (s.v_max) s.v_max += begin;
        s.n = count;
        return s;
    }
};

template <bool kAmsgrad>
void adam_update_loop(const AdamUpdate& a) {
    const GradClip clip(a.grad_scale, a.clipvalue);
    const float keep = a.weight_decay != 0.0f ? 1.0f - a.lr * a.weight_decay : 1.0f;
    const float inv_sqrt_bc2 = 1.0f / std::sqrt(a.bias_correction2);
    const float step = -a.lr / a.bias_correction1;
    const float b1 = a.beta1, c1 = 1.0f - a.beta1, b2 = a.beta2, c2 = 1.0f - a.beta2;
    const float eps = a.epsilon;
    for (std::size_t i = 0; i < a.n; ++i) {
        const float g = clip(a.grad[i]);
        const float m = c1 * g + b1 * a.m[i];
        const float v = c2 * (g * g) + b2 * a.v[i];
        a.m[i] = m;
        a.v[i] = v;
        float vu = v;
        if constexpr (kAmsgrad) {
            vu = a.v_max[i] > v ? a.v_max[i] : v;
            a.v_max[i] = vu;
        }
        const float denom = std::sqrt(vu) * inv_sqrt_bc2 + eps;
        a.w[i] = step * (m / denom) + keep * a.w[i];
    }
}

inline void adam_update(const AdamUpdate& a) {
    if (a.v_max)
        adam_update_loop<true>(a);
    else
        adam_update_loop<false>(a);
}

struct SgdMomentumUpdate {
    const float* grad;
    float* w;
    float* velocity;
    std::size_t n;
    float lr, momentum, weight_decay;
    bool nesterov;
    float grad_scale, clipvalue;

    SgdMomentumUpdate slice(std::size_t begin, std::size_t count) const {
        SgdMomentumUpdate s = *this;
        s.grad += begin;
        s.w += begin;
        s.velocity += begin;
        s.n = count;
        return s;
    }
};

template <bool kNesterov>
void sgd_momentum_loop(const SgdMomentumUpdate& a) {
    const GradClip clip(a.grad_scale, a.clipvalue);
    const float mu = a.momentum, wd = a.weight_decay, lr = a.lr;
    const float keep = wd != 0.0f ? 1.0f - lr * wd : 1.0f;
    for (std::size_t i = 0; i < a.n; ++i) {
        const float g = clip(a.grad[i]);
        const float w = a.w[i];
        const float b = wd * w + (g + mu * a.velocity[i]);
        a.velocity[i] = b;
        if constexpr (kNesterov)
            a.w[i] = (-lr * mu) * b + ((-lr) * g + keep * w);
        else
            a.w[i] = (-lr) * b + w;
    }
}

inline void sgd_momentum_update(const SgdMomentumUpdate& a) {
    if (a.nesterov)
        sgd_momentum_loop<true>(a);
    else
        sgd_momentum_loop<false>(a);
}

}  // namespace cpu_fused
