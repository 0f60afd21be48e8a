// Random numbers for the CPU device: Philox4x32-10 (Salmon et al., "Parallel random numbers:
// as easy as 1, 2, 3", SC 2011), the generator of cuRAND and Random123. Element i of a draw
// is a pure function of (seed, counter, i), so results never depend on call history or on
// how the work is split, and a GPU device can reproduce them bit for bit.
//
// Only plugin.cpp includes this (see there for why the functions are static).
// No include guard: cpu_device.inc includes this once per instruction set.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace plexus_cpu {

using Block = std::array<std::uint32_t, 4>;

static Block philox(std::uint64_t block, std::uint64_t counter, std::uint64_t seed) {
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
static float unit(std::uint32_t bits) {
    return static_cast<float>(bits >> 8) * 0x1p-24f;
}

// Element i takes lane i % 4 of block i / 4; `make` turns one block into four values.
template <class F>
static void fill_random(float* y, std::size_t n, std::uint64_t seed, std::uint64_t counter,
                        F make) {
    for (std::size_t base = 0; base < n; base += 4) {
        const std::array<float, 4> v = make(philox(base / 4, counter, seed));
        const std::size_t take = std::min<std::size_t>(4, n - base);
        for (std::size_t j = 0; j < take; ++j) y[base + j] = v[j];
    }
}

// Box–Muller: each pair of lanes gives two independent standard normals (cos and sin).
static void box_muller(std::uint32_t b0, std::uint32_t b1, float* z) {
    const float u1 = static_cast<float>((b0 >> 8) + 1) * 0x1p-24f;  // (0, 1]: log stays finite
    const float r = std::sqrt(-2.0f * std::log(u1));
    const float theta = 6.28318530717958647692f * unit(b1);
    z[0] = r * std::cos(theta);
    z[1] = r * std::sin(theta);
}

// ---- the distributions of Device::random; the caller has checked a and b.

// Uniform on [a, b).
static void fill_uniform(float* y, std::size_t n, std::uint64_t seed, std::uint64_t counter,
                         float a, float b) {
    // a + (b - a) * u can round up to b; clamp to keep the interval half-open.
    const float top = b > a ? std::nextafter(b, a) : a, width = b - a;
    fill_random(y, n, seed, counter, [=](const Block& r) {
        std::array<float, 4> v;
        for (int j = 0; j < 4; ++j) v[j] = std::min(a + width * unit(r[j]), top);
        return v;
    });
}

// Normal with mean a and standard deviation b.
static void fill_normal(float* y, std::size_t n, std::uint64_t seed, std::uint64_t counter,
                        float a, float b) {
    fill_random(y, n, seed, counter, [=](const Block& r) {
        std::array<float, 4> v;
        box_muller(r[0], r[1], &v[0]);
        box_muller(r[2], r[3], &v[2]);
        for (float& z : v) z = a + b * z;
        return v;
    });
}

// 1 with probability a, else 0.
static void fill_bernoulli(float* y, std::size_t n, std::uint64_t seed, std::uint64_t counter,
                           float a) {
    fill_random(y, n, seed, counter, [=](const Block& r) {
        std::array<float, 4> v;
        for (int j = 0; j < 4; ++j) v[j] = unit(r[j]) < a ? 1.0f : 0.0f;
        return v;
    });
}

}  // namespace plexus_cpu
