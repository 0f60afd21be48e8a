// Fused recurrent cell kernels for the CPU device (lstm.cell_forward / cell_backward and
// gru.cell_forward / cell_backward of plexus/fused.hpp): one pass over a time step's gate
// block instead of the primitive path's dozen, with the activations chosen at compile time.
//
// The C library's expf and tanhf are scalar calls (glibc declares its vector variants only
// under -ffast-math), which would leave a step with thousands of calls; exp_approx and
// tanh_approx below are branch-free, so each loop vectorises. The loops are marked `omp simd`
// (-fopenmp-simd, no runtime): the gate blocks are parts of one array, and without the mark
// GCC gives up on proving they do not overlap. The plugin is built with -fno-trapping-math
// (CMakeLists.txt): otherwise GCC keeps the selects below (the clamp, tanh's two branches) as
// branches, and a loop with branches runs scalar (2.5x slower per step, measured). They are Cephes's polynomials
// (Moshier, "Methods and Programs for Mathematical Functions", 1989): within a few ulp of
// the library functions, far below the tolerance of the conformance table. No allocation.
// No include guard: cpu_device.inc includes this once per instruction set.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "plexus/fused.hpp"

namespace cpu_fused {

using plexus::fused::Activation;

// e^x for x in float range; x beyond +-88 is clamped (e^88 is near FLT_MAX, e^-88 near 0).
inline float exp_approx(float x) {
    x = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
    // n = round(x / ln 2) by the 1.5 * 2^23 trick (round to nearest; no FMA contraction).
    constexpr float kShift = 12582912.0f;
    const float shifted = x * 1.44269504088896341f + kShift;
    const float n = shifted - kShift;
    const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float e = p * r * r + r + 1.0f;
    const std::int32_t exponent =
        std::bit_cast<std::int32_t>(shifted) - std::bit_cast<std::int32_t>(kShift);
    return e * std::bit_cast<float>((exponent + 127) << 23);
}

inline float sigmoid_approx(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

// tanh through one exp: 1 - 2 / (e^2x + 1). Near 0 it loses tanh's relative accuracy (the
// subtraction cancels) but not its absolute one: at most 1.8e-7 from std::tanh over
// [-30, 30], which is what a gate needs. The polynomial branch for |x| < 0.625 it replaced
// cost 15 % of LSTM inference (52,300 -> 60,500 windows/s, plexus-bench-recurrent).
inline float tanh_approx(float x) {
    return 1.0f - 2.0f / (exp_approx(2.0f * x) + 1.0f);
}

template <Activation A>
inline float activate(float x) {
    if constexpr (A == Activation::tanh) return tanh_approx(x);
    else if constexpr (A == Activation::sigmoid) return sigmoid_approx(x);
    else if constexpr (A == Activation::relu) return x > 0.0f ? x : 0.0f;
    else return x;
}

// The derivative times dy, from the activation's output y.
template <Activation A>
inline float activate_backward(float dy, float y) {
    if constexpr (A == Activation::tanh) return dy * (1.0f - y * y);
    else if constexpr (A == Activation::sigmoid) return dy * y * (1.0f - y);
    else if constexpr (A == Activation::relu) return y > 0.0f ? dy : 0.0f;
    else return dy;
}

// Calls f(integral_constant<Activation, a>{}, integral_constant<Activation, ra>{}), so every
// pair of activations gets a loop of its own.
template <Activation A, class F>
void with_recurrent_activation(Activation ra, F&& f) {
    using C = std::integral_constant<Activation, A>;
    switch (ra) {
        case Activation::sigmoid: return f(C{}, std::integral_constant<Activation, Activation::sigmoid>{});
        case Activation::relu: return f(C{}, std::integral_constant<Activation, Activation::relu>{});
        case Activation::linear: return f(C{}, std::integral_constant<Activation, Activation::linear>{});
        default: return f(C{}, std::integral_constant<Activation, Activation::tanh>{});
    }
}
template <class F>
void with_activations(Activation a, Activation ra, F&& f) {
    switch (a) {
        case Activation::sigmoid: return with_recurrent_activation<Activation::sigmoid>(ra, f);
        case Activation::relu: return with_recurrent_activation<Activation::relu>(ra, f);
        case Activation::linear: return with_recurrent_activation<Activation::linear>(ra, f);
        default: return with_recurrent_activation<Activation::tanh>(ra, f);
    }
}

// One step's operands as raw pointers: n rows, h units; gate blocks are [n, G*h].
struct CellStep {
    float* gates;
    const float* bias;  // [G*h] or null
    float* recurrent;   // GRU: u
    const float* recurrent_bias;
    const float* prev;  // c_prev (LSTM) or h_prev (GRU)
    float* c;           // LSTM
    float* h;
    const float* dh;
    float* dcarry;      // LSTM: dc; GRU: dh_prev
    float* dgates;
    float* drecurrent;  // GRU
    std::size_t n, units;
};

template <Activation A, Activation RA>
void lstm_forward(const CellStep& s) {
    const std::size_t h = s.units;
    for (std::size_t row = 0; row < s.n; ++row) {
        float* zi = s.gates + row * 4 * h;
        float *zf = zi + h, *zc = zf + h, *zo = zc + h;
        const float* cp = s.prev + row * h;
        float* c = s.c + row * h;
        float* out = s.h + row * h;
        if (s.bias) {
            const float* b = s.bias;
#pragma omp simd
            for (std::size_t j = 0; j < 4 * h; ++j) zi[j] += b[j];
        }
#pragma omp simd
        for (std::size_t j = 0; j < h; ++j) {
            const float i = activate<RA>(zi[j]), f = activate<RA>(zf[j]);
            const float g = activate<A>(zc[j]), o = activate<RA>(zo[j]);
            const float cj = f * cp[j] + i * g;
            zi[j] = i;
            zf[j] = f;
            zc[j] = g;
            zo[j] = o;
            c[j] = cj;
            out[j] = o * activate<A>(cj);
        }
    }
}

template <Activation A, Activation RA>
void lstm_backward(const CellStep& s) {
    const std::size_t h = s.units;
    for (std::size_t row = 0; row < s.n; ++row) {
        const float* gi = s.gates + row * 4 * h;
        const float *gf = gi + h, *gc = gf + h, *go = gc + h;
        const float* cp = s.prev + row * h;
        const float* c = s.c + row * h;
        const float* dh = s.dh + row * h;
        float* dc = s.dcarry + row * h;
        float* di = s.dgates + row * 4 * h;
        float *df = di + h, *dg = df + h, *dout = dg + h;
#pragma omp simd
        for (std::size_t j = 0; j < h; ++j) {
            const float tc = activate<A>(c[j]);
            dout[j] = activate_backward<RA>(dh[j] * tc, go[j]);
            const float dcj = dc[j] + activate_backward<A>(dh[j] * go[j], tc);
            di[j] = activate_backward<RA>(dcj * gc[j], gi[j]);
            dg[j] = activate_backward<A>(dcj * gi[j], gc[j]);
            df[j] = activate_backward<RA>(dcj * cp[j], gf[j]);
            dc[j] = dcj * gf[j];
        }
    }
}

template <Activation A, Activation RA>
void gru_forward(const CellStep& s) {
    const std::size_t h = s.units;
    for (std::size_t row = 0; row < s.n; ++row) {
        float* xz = s.gates + row * 3 * h;
        float *xr = xz + h, *xh = xr + h;
        float* uz = s.recurrent + row * 3 * h;
        float *ur = uz + h, *uh = ur + h;
        const float* hp = s.prev + row * h;
        float* out = s.h + row * h;
        if (s.bias) {
            const float* b = s.bias;
#pragma omp simd
            for (std::size_t j = 0; j < 3 * h; ++j) xz[j] += b[j];
        }
        if (s.recurrent_bias) {
            const float* b = s.recurrent_bias;
#pragma omp simd
            for (std::size_t j = 0; j < 3 * h; ++j) uz[j] += b[j];
        }
#pragma omp simd
        for (std::size_t j = 0; j < h; ++j) {
            const float z = activate<RA>(xz[j] + uz[j]);
            const float r = activate<RA>(xr[j] + ur[j]);
            const float hh = activate<A>(xh[j] + r * uh[j]);
            xz[j] = z;
            xr[j] = r;
            xh[j] = hh;
            out[j] = hh + z * (hp[j] - hh);
        }
    }
}

template <Activation A, Activation RA>
void gru_backward(const CellStep& s) {
    const std::size_t h = s.units;
    for (std::size_t row = 0; row < s.n; ++row) {
        const float* gz = s.gates + row * 3 * h;
        const float *gr = gz + h, *gh = gr + h;
        const float* uh = s.recurrent + row * 3 * h + 2 * h;
        const float* hp = s.prev + row * h;
        const float* dh = s.dh + row * h;
        float* dhp = s.dcarry + row * h;
        float* dz = s.dgates + row * 3 * h;
        float *dr = dz + h, *dx = dr + h;
        float* duz = s.drecurrent + row * 3 * h;
        float *dur = duz + h, *duh = dur + h;
#pragma omp simd
        for (std::size_t j = 0; j < h; ++j) {
            const float t = dh[j] * gz[j];
            dhp[j] += t;
            const float dxh = activate_backward<A>(dh[j] - t, gh[j]);
            const float dzj = activate_backward<RA>(dh[j] * (hp[j] - gh[j]), gz[j]);
            const float drj = activate_backward<RA>(dxh * uh[j], gr[j]);
            dz[j] = dzj;
            dr[j] = drj;
            dx[j] = dxh;
            duz[j] = dzj;
            dur[j] = drj;
            duh[j] = dxh * gr[j];
        }
    }
}

}  // namespace cpu_fused
