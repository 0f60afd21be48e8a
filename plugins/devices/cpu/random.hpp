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

// Philox for kLanes consecutive blocks at once with SSE2 integer vectors (the x86-64
// baseline; the AVX2 variant compiles them VEX-encoded), four blocks per vector group and
// four groups interleaved. Writes the blocks in order, four words each: out[4 * l + w] is
// word w of philox(first + l, counter, seed), bit for bit.
constexpr std::size_t kLanes = 16;

#if defined(__SSE2__)
// 32×32→64-bit products of every lane: the high and low halves, as two vectors.
static void mul_hi_lo(__m128i a, __m128i m, __m128i& hi, __m128i& lo) {
    const __m128i low_mask = _mm_set1_epi64x(0xFFFFFFFF);
    const __m128i even = _mm_mul_epu32(a, m);                                          // lanes 0, 2
    const __m128i odd = _mm_mul_epu32(_mm_srli_epi64(a, 32), _mm_srli_epi64(m, 32));  // lanes 1, 3
    hi = _mm_or_si128(_mm_srli_epi64(even, 32), _mm_andnot_si128(low_mask, odd));
    lo = _mm_or_si128(_mm_and_si128(even, low_mask), _mm_slli_epi64(odd, 32));
}

static void philox_lanes(std::uint64_t first, std::uint64_t counter, std::uint64_t seed,
                         std::uint32_t (&out)[4 * kLanes]) {
    constexpr std::size_t kGroups = kLanes / 4;
    const auto word = [](std::uint64_t v, int shift) { return static_cast<int>(static_cast<std::uint32_t>(v >> shift)); };
    __m128i x0[kGroups], x1[kGroups], x2[kGroups], x3[kGroups];
    for (std::size_t g = 0; g < kGroups; ++g) {
        const std::uint64_t b = first + 4 * g;
        x0[g] = _mm_setr_epi32(word(b, 0), word(b + 1, 0), word(b + 2, 0), word(b + 3, 0));
        x1[g] = _mm_setr_epi32(word(b, 32), word(b + 1, 32), word(b + 2, 32), word(b + 3, 32));
        x2[g] = _mm_set1_epi32(word(counter, 0));
        x3[g] = _mm_set1_epi32(word(counter, 32));
    }
    const __m128i m0 = _mm_set1_epi32(static_cast<int>(0xD2511F53u));
    const __m128i m1 = _mm_set1_epi32(static_cast<int>(0xCD9E8D57u));
    std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
    for (int round = 0; round < 10; ++round) {
        const __m128i key0 = _mm_set1_epi32(static_cast<int>(k0)), key1 = _mm_set1_epi32(static_cast<int>(k1));
        for (std::size_t g = 0; g < kGroups; ++g) {
            __m128i hi0, lo0, hi1, lo1;
            mul_hi_lo(x0[g], m0, hi0, lo0);
            mul_hi_lo(x2[g], m1, hi1, lo1);
            x0[g] = _mm_xor_si128(_mm_xor_si128(hi1, x1[g]), key0);
            x2[g] = _mm_xor_si128(_mm_xor_si128(hi0, x3[g]), key1);
            x1[g] = lo1;
            x3[g] = lo0;
        }
        k0 += 0x9E3779B9;
        k1 += 0xBB67AE85;
    }
    for (std::size_t g = 0; g < kGroups; ++g) {  // 4×4 transpose: lanes are blocks, rows words
        const __m128i t0 = _mm_unpacklo_epi32(x0[g], x1[g]), t1 = _mm_unpacklo_epi32(x2[g], x3[g]);
        const __m128i t2 = _mm_unpackhi_epi32(x0[g], x1[g]), t3 = _mm_unpackhi_epi32(x2[g], x3[g]);
        auto* dst = reinterpret_cast<__m128i*>(out + 16 * g);
        _mm_storeu_si128(dst + 0, _mm_unpacklo_epi64(t0, t1));
        _mm_storeu_si128(dst + 1, _mm_unpackhi_epi64(t0, t1));
        _mm_storeu_si128(dst + 2, _mm_unpacklo_epi64(t2, t3));
        _mm_storeu_si128(dst + 3, _mm_unpackhi_epi64(t2, t3));
    }
}
#else
static void philox_lanes(std::uint64_t first, std::uint64_t counter, std::uint64_t seed,
                         std::uint32_t (&out)[4 * kLanes]) {
    for (std::size_t l = 0; l < kLanes; ++l) {
        const Block b = philox(first + l, counter, seed);
        for (std::size_t w = 0; w < 4; ++w) out[4 * l + w] = b[w];
    }
}
#endif

// Element i of a draw takes word i % 4 of block i / 4. Calls emit(first, words, count) with
// the words of elements [first, first + count): 64 at a time from philox_lanes, then the
// tail block by block.
template <class Emit>
static void generate(std::size_t n, std::uint64_t seed, std::uint64_t counter, Emit emit) {
    std::uint32_t words[4 * kLanes];
    std::size_t base = 0;
    for (; base + 4 * kLanes <= n; base += 4 * kLanes) {
        philox_lanes(base / 4, counter, seed, words);
        emit(base, words, 4 * kLanes);
    }
    for (; base < n; base += 4) {
        const Block b = philox(base / 4, counter, seed);
        std::copy(b.begin(), b.end(), words);
        emit(base, words, std::min<std::size_t>(4, n - base));
    }
}

// `make` turns one block into four values (Box–Muller needs pairs of words).
template <class F>
static void fill_random(float* y, std::size_t n, std::uint64_t seed, std::uint64_t counter,
                        F make) {
    generate(n, seed, counter, [&](std::size_t first, const std::uint32_t* w, std::size_t count) {
        for (std::size_t b = 0; b < count; b += 4) {
            const std::array<float, 4> v = make(Block{w[b], w[b + 1], w[b + 2], w[b + 3]});
            for (std::size_t j = 0; j < 4 && b + j < count; ++j) y[first + b + j] = v[j];
        }
    });
}

// The same when each value depends on one word only (uniform, bernoulli): a loop the
// compiler vectorises.
template <class F>
static void fill_words(float* y, std::size_t n, std::uint64_t seed, std::uint64_t counter,
                       F value) {
    generate(n, seed, counter, [&](std::size_t first, const std::uint32_t* w, std::size_t count) {
        for (std::size_t i = 0; i < count; ++i) y[first + i] = value(w[i]);
    });
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
    fill_words(y, n, seed, counter,
               [=](std::uint32_t bits) { return std::min(a + width * unit(bits), top); });
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
    fill_words(y, n, seed, counter, [=](std::uint32_t bits) { return unit(bits) < a ? 1.0f : 0.0f; });
}

}  // namespace plexus_cpu
