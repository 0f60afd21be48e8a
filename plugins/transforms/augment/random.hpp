// Counter-based random numbers for augmentation: the stream of one sample is a pure function
// of (run seed, epoch, sample id, component salt), so a sample gets the same draw whatever the
// batch it lands in, the thread that prepares it or the order of preparation.
//
// The key is the four inputs hashed together with splitmix64's finaliser (Steele, Lea &
// Flood, 2014, "Fast splittable pseudorandom number generators"); the k-th number is the
// finaliser of key + k·γ, which is exactly splitmix64's sequence started at the key.
#pragma once

#include <cmath>
#include <cstdint>

namespace plexus::transforms {

constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

constexpr std::uint64_t mix64(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

class SampleRandom {
public:
    SampleRandom(std::uint64_t seed, std::uint64_t epoch, std::uint64_t id, std::uint64_t salt)
        : key_(mix64(mix64(mix64(salt + kGolden) ^ seed) + epoch * kGolden) ^ mix64(id + salt)) {}

    std::uint64_t next() { return mix64(key_ + (++counter_) * kGolden); }

    /// Uniform in [0, 1) with 53 random bits.
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    /// Uniform in [low, high).
    double uniform(double low, double high) { return low + (high - low) * uniform(); }
    /// True with probability p.
    bool bernoulli(double p) { return uniform() < p; }

    /// Standard normal (Marsaglia's polar method; each accepted pair gives two values).
    double normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        double u = 0, v = 0, s = 0;
        do {
            u = uniform(-1.0, 1.0);
            v = uniform(-1.0, 1.0);
            s = u * u + v * v;
        } while (s >= 1.0 || s == 0.0);
        const double f = std::sqrt(-2.0 * std::log(s) / s);
        spare_ = v * f;
        has_spare_ = true;
        return u * f;
    }

private:
    std::uint64_t key_;
    std::uint64_t counter_ = 0;
    double spare_ = 0.0;
    bool has_spare_ = false;
};

}  // namespace plexus::transforms
