// What every sampler needs besides its own algorithm: a seeded random stream and the
// geometry of one search-space parameter (its continuous "search" coordinate, its lattice,
// its grid axis). Shared by the grid, random and TPE samplers so they agree on what a
// parameter's values are.
#pragma once

#include <cstdint>
#include <initializer_list>

#include "plexus/export.hpp"
#include "plexus/study.hpp"

namespace plexus::support {

/// A reproducible stream of random numbers keyed by a few integers (a study's seed, a trial
/// number, a parameter index...): SplitMix64 (Steele et al., 2014) over a key hashed from
/// them, so equal keys give equal streams in any process, and keys differing in one word give
/// unrelated streams. Not for cryptography.
class PLEXUS_API RandomStream {
public:
    explicit RandomStream(std::initializer_list<std::uint64_t> key);

    /// The next 64 random bits.
    std::uint64_t next();
    /// Uniform in [0, 1), 53 random bits.
    double uniform();
    /// Uniform integer in [0, n). Requires n ≥ 1. Unbiased (rejection).
    std::uint64_t below(std::uint64_t n);

private:
    std::uint64_t state_;
};

/// The continuous coordinate a parameter is searched in: log(value) for log_uniform and
/// integer log, the value itself otherwise; a choice has none (its index is categorical).
/// Discrete parameters widen their interval by half a step (half a unit in log for integer
/// log) on each side, so every lattice point owns an interval of equal width and the ends
/// are drawn as often as the middle (Optuna does the same).
struct SearchBounds {
    double low = 0.0;
    double high = 0.0;
};

/// The search interval of `p`. Requires p.kind != choice and a valid parameter (low ≤ high,
/// 0 < low for log scales, step > 0 for integers).
PLEXUS_API SearchBounds search_bounds(const SpaceParam& p);
/// `value` (a parameter value) in the search coordinate of `p`.
PLEXUS_API double to_search(const SpaceParam& p, double value);
/// The parameter value for search coordinate `x`: back from log scale, rounded onto the
/// integer or step lattice, clamped to [low, high]. Ensures a valid value of `p` for every
/// finite x.
PLEXUS_API double from_search(const SpaceParam& p, double x);

/// One value of `p` drawn uniformly: uniform in the search coordinate (so log scales are
/// uniform in log), every lattice point and choice equally likely (integer log: in
/// proportion to its share of the log interval).
PLEXUS_API double draw(const SpaceParam& p, RandomStream& random);

/// Number of values of a discrete parameter: choices, integers low..high by step, or the
/// lattice low + k·step ≤ high of a stepped uniform. Throws ConfigError naming the
/// parameter (and suggesting `choice …` or `step=`) for a continuous one (log_uniform, or
/// uniform without step), and for an axis of more than 2^63 values.
PLEXUS_API std::uint64_t axis_size(const SpaceParam& p);
/// The k-th value of a discrete parameter's axis (k < axis_size(p)), ascending.
PLEXUS_API double axis_value(const SpaceParam& p, std::uint64_t k);

}  // namespace plexus::support
