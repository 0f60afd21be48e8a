#include "plexus/support/space.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "plexus/error.hpp"

namespace plexus::support {
namespace {

std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15ULL;

bool discrete(const SpaceParam& p) {
    return p.kind == SpaceKind::integer || (p.kind == SpaceKind::uniform && p.step > 0);
}

double step_of(const SpaceParam& p) {
    return p.kind == SpaceKind::integer ? std::max(1.0, p.step) : p.step;
}

// Lattice points low + k·step ≤ high. The tolerance keeps a bound written in decimal
// (0.1 .. 1.0 step 0.1) on the lattice despite binary rounding.
double lattice_count(const SpaceParam& p) {
    return std::floor((p.high - p.low) / step_of(p) + 1e-9) + 1.0;
}

double snap(const SpaceParam& p, double value) {
    const double step = step_of(p);
    const double last = lattice_count(p) - 1.0;
    const double k = std::clamp(std::round((value - p.low) / step), 0.0, last);
    return p.low + k * step;
}

}  // namespace

RandomStream::RandomStream(std::initializer_list<std::uint64_t> key) : state_(kGolden) {
    for (std::uint64_t word : key) state_ = mix(state_ ^ mix(word + kGolden));
}

std::uint64_t RandomStream::next() {
    return mix(state_ += kGolden);
}

double RandomStream::uniform() {
    return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

std::uint64_t RandomStream::below(std::uint64_t n) {
    // Reject the top partial block of 2^64 so every residue is equally likely.
    const std::uint64_t limit = (~std::uint64_t{0}) - (~std::uint64_t{0}) % n;
    std::uint64_t r = next();
    while (r >= limit) r = next();
    return r % n;
}

SearchBounds search_bounds(const SpaceParam& p) {
    switch (p.kind) {
        case SpaceKind::log_uniform:
            return {std::log(p.low), std::log(p.high)};
        case SpaceKind::integer:
            if (p.log) return {std::log(p.low - 0.5), std::log(p.high + 0.5)};
            [[fallthrough]];
        case SpaceKind::uniform:
            if (discrete(p)) {
                const double half = 0.5 * step_of(p);
                return {p.low - half, p.low + (lattice_count(p) - 1.0) * step_of(p) + half};
            }
            return {p.low, p.high};
        case SpaceKind::choice:
            break;
    }
    return {p.low, p.high};
}

double to_search(const SpaceParam& p, double value) {
    const bool log = p.kind == SpaceKind::log_uniform || (p.kind == SpaceKind::integer && p.log);
    return log ? std::log(value) : value;
}

double from_search(const SpaceParam& p, double x) {
    switch (p.kind) {
        case SpaceKind::log_uniform:
            return std::clamp(std::exp(x), p.low, p.high);
        case SpaceKind::integer:
            return snap(p, p.log ? std::round(std::exp(x)) : x);
        case SpaceKind::uniform:
            return p.step > 0 ? snap(p, x) : std::clamp(x, p.low, p.high);
        case SpaceKind::choice:
            return std::clamp(std::round(x), 0.0, static_cast<double>(p.choices.size()) - 1.0);
    }
    return x;
}

double draw(const SpaceParam& p, RandomStream& random) {
    if (p.kind == SpaceKind::choice) return static_cast<double>(random.below(p.choices.size()));
    const SearchBounds b = search_bounds(p);
    return from_search(p, b.low + (b.high - b.low) * random.uniform());
}

std::uint64_t axis_size(const SpaceParam& p) {
    if (p.kind == SpaceKind::choice) return p.choices.size();
    if (!discrete(p))
        throw ConfigError("parameter '" + p.name +
                          "' is continuous and a grid cannot enumerate it: give it a step "
                          "(uniform LOW HIGH step=S) or list its values (choice A B C)");
    const double n = lattice_count(p);
    if (!(n >= 1.0) || n > 0x1.0p63)
        throw ConfigError("parameter '" + p.name +
                          "' has more than 2^63 grid values: use a "
                          "larger step or a narrower range");
    return static_cast<std::uint64_t>(n);
}

double axis_value(const SpaceParam& p, std::uint64_t k) {
    if (p.kind == SpaceKind::choice) return static_cast<double>(k);
    return p.low + static_cast<double>(k) * step_of(p);
}

}  // namespace plexus::support
