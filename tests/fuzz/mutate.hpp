// The fuzz test's mutation engine: a seeded random source and a handful of byte and text
// mutations, small enough to read in one sitting (docs/fuzzing.md lists them). Each mutation
// appends a short note of what it did, so a failing case says how its input was made.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace plexus::fuzz {

/// What the mutations did, one note each, for the failure report.
using Notes = std::vector<std::string>;

/// SplitMix64 (Steele, Lea & Flood, 2014): the same seed gives the same sequence on every
/// platform and standard library, which std::mt19937 + distributions do not promise.
class Rng {
public:
    explicit Rng(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next();
    /// A value in [0, n); requires n > 0.
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
    /// True with probability percent / 100.
    bool chance(unsigned percent) { return below(100) < percent; }
    template <typename T>
    const T& pick(const std::vector<T>& items) {
        return items[below(items.size())];
    }

private:
    std::uint64_t state_;
};

/// The seed of case `index` of a run seeded with `seed`: each case draws from its own
/// stream, so a case replays alone, without the cases before it.
std::uint64_t case_seed(std::uint64_t seed, std::uint64_t index);

/// Dimensions whose product is 1 modulo 2^64, each at most 2^24 (tests/fuzz/wrap_dims.py
/// found them): appended to a shape they keep its element count in wrapping 64-bit
/// arithmetic while the true count passes 2^64.
inline constexpr std::uint64_t kWrapDims[] = {7623851, 13526403, 357761};

/// The text forms of hostile numbers: 0, -1, 2^31, 2^32, 2^63, 2^64 - 1, 2^64, NaN, infinities,
/// an overflowing double, a subnormal, hex, and huge dimensions.
const std::vector<std::string>& interesting_numbers();

/// Applies 1 to `max_ops` byte-level mutations (bit flips, byte insert/delete, an interesting
/// integer of 1, 2, 4 or 8 bytes in either byte order, truncation, a duplicated or appended
/// chunk). Offsets prefer the first `header` bytes, where formats keep their counts.
void mutate_bytes(std::string& data, Rng& rng, Notes& notes,
                  std::size_t header = 64, int max_ops = 3);

/// Applies 1 to `max_ops` text mutations (a number replaced by an interesting one, a line
/// duplicated or deleted, a word swapped for another of the file, a value emptied, control
/// characters or invalid UTF-8, a long string, dimensions that wrap a product) and, now and
/// then, one byte-level mutation.
void mutate_text(std::string& text, Rng& rng, Notes& notes, int max_ops = 3);

}  // namespace plexus::fuzz
