// Grid search: every point of the product of the parameters' axes, each once, in an order
// shuffled by the study's seed (Optuna's GridSampler also shuffles, so a study stopped early
// has still spread its trials over the whole grid). The order is a keyed permutation of the
// point indices (a Feistel network, Luby & Rackoff 1988, walked until it lands inside the
// grid), so even a grid of 2^63 points is never materialised. A suggestion is the first
// point of that order no trial of the history has (any state), so workers sharing a study
// never repeat a point.
#include <cmath>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/support/space.hpp"

namespace {

using plexus::SearchSpace;
using plexus::support::axis_size;
using plexus::support::axis_value;

std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// A bijection of [0, n) keyed by the seed.
class Shuffle {
public:
    Shuffle(std::uint64_t n, std::uint64_t seed) : n_(n), key_(mix(seed ^ 0x6772696473ULL)) {
        while (half_bits_ < 32 && (std::uint64_t{1} << (2 * half_bits_)) < n) ++half_bits_;
        mask_ = (std::uint64_t{1} << half_bits_) - 1;
    }

    std::uint64_t operator()(std::uint64_t i) const {
        // Cycle-walking: the domain 2^(2h) is less than 4n, so a few steps on average.
        do i = encrypt(i);
        while (i >= n_);
        return i;
    }

private:
    std::uint64_t encrypt(std::uint64_t x) const {
        if (half_bits_ == 0) return x;
        std::uint64_t left = x >> half_bits_, right = x & mask_;
        for (std::uint64_t round = 0; round < 6; ++round) {
            const std::uint64_t salt = key_ + round * 0x9e3779b97f4a7c15ULL;
            const std::uint64_t next = left ^ (mix(salt ^ right) & mask_);
            left = right;
            right = next;
        }
        return (left << half_bits_) | right;
    }

    std::uint64_t n_;
    std::uint64_t key_;
    unsigned half_bits_ = 0;
    std::uint64_t mask_ = 0;
};

std::vector<std::uint64_t> axes(const SearchSpace& space) {
    std::vector<std::uint64_t> sizes;
    std::uint64_t total = 1;
    for (const auto& p : space) {
        sizes.push_back(axis_size(p));
        if (sizes.back() == 0)
            throw plexus::ConfigError("parameter '" + p.name + "' has no values to search");
        if (total > (std::uint64_t{1} << 63) / sizes.back())
            throw plexus::ConfigError(
                "the grid over the [space] section has more than 2^63 "
                "points (at parameter '" +
                p.name + "'): use larger steps or fewer parameters");
        total *= sizes.back();
    }
    return sizes;
}

std::uint64_t product(const std::vector<std::uint64_t>& sizes) {
    std::uint64_t total = 1;
    for (auto s : sizes) total *= s;
    return total;
}

// The point index of a trial's parameters (mixed radix, first parameter most significant),
// or false when a value is not on its axis (a history from another space).
bool point_index(const SearchSpace& space, const std::vector<std::uint64_t>& sizes,
                 const std::vector<double>& values, std::uint64_t& index) {
    if (values.size() != space.size()) return false;
    index = 0;
    for (std::size_t d = 0; d < space.size(); ++d) {
        const double first = axis_value(space[d], 0);
        const double spacing = sizes[d] > 1 ? axis_value(space[d], 1) - first : 1.0;
        const double k = std::round((values[d] - first) / spacing);
        if (!(k >= 0 && k < static_cast<double>(sizes[d])) ||
            std::fabs(values[d] - axis_value(space[d], static_cast<std::uint64_t>(k))) >
                1e-9 * (std::fabs(spacing) + std::fabs(values[d])))
            return false;
        index = index * sizes[d] + static_cast<std::uint64_t>(k);
    }
    return true;
}

class GridSampler final : public plexus::Sampler {
public:
    explicit GridSampler(const plexus::Params&) {}

    void check(const SearchSpace& space) const override { axes(space); }

    std::uint64_t size(const SearchSpace& space) const override { return product(axes(space)); }

    std::vector<double> suggest(const SearchSpace& space,
                                const std::vector<plexus::TrialView>& history,
                                const plexus::SuggestContext& context) override {
        const auto sizes = axes(space);
        const std::uint64_t total = product(sizes);
        std::unordered_set<std::uint64_t> taken;
        for (const auto& trial : history) {
            std::uint64_t index = 0;
            if (point_index(space, sizes, trial.params, index)) taken.insert(index);
        }
        const Shuffle order(total, context.seed);
        // Each taken point hides at most one position, so this ends within |history| + 1
        // steps; once every point is taken the grid starts over (the host stops at size()).
        std::uint64_t index = order(context.trial_number % total);
        for (std::uint64_t i = 0; i < total && taken.size() < total; ++i) {
            const std::uint64_t candidate = order(i);
            if (!taken.count(candidate)) {
                index = candidate;
                break;
            }
        }
        std::vector<double> values(space.size());
        for (std::size_t d = space.size(); d-- > 0;) {
            values[d] = axis_value(space[d], index % sizes[d]);
            index /= sizes[d];
        }
        return values;
    }
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<GridSampler>(
    "grid", "0.1.0", "Every point of the parameters' grid once, in an order shuffled by the seed"))
