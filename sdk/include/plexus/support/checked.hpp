// Checked size arithmetic for numbers that come from files: a product of dimensions, a count
// times an element size or an offset plus a length wraps silently in size_t, and a wrapped
// size passes every later "does it fit" check. Every size computed from untrusted numbers
// goes through these, so a crafted header fails with a message instead of a short buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>

namespace plexus::support {

/// a * b. Ensures: returns false (and leaves `out` unspecified) when the product does not fit
/// in T; otherwise out = a * b and returns true.
template <class T>
[[nodiscard]] bool checked_mul(T a, T b, T& out) {
    return !__builtin_mul_overflow(a, b, &out);
}

/// a + b, as checked_mul.
template <class T>
[[nodiscard]] bool checked_add(T a, T b, T& out) {
    return !__builtin_add_overflow(a, b, &out);
}

/// The product of `factors` (1 for none), or nothing when it exceeds `limit` or does not fit
/// in a size_t. A zero factor gives 0 whatever the others are.
[[nodiscard]] inline std::optional<std::size_t> checked_product(
    std::span<const std::size_t> factors, std::size_t limit = SIZE_MAX) {
    std::size_t n = 1;
    bool overflow = false;
    for (const std::size_t f : factors) {
        if (f == 0) return 0;
        overflow = overflow || !checked_mul(n, f, n) || n > limit;
    }
    if (overflow) return std::nullopt;
    return n;
}

[[nodiscard]] inline std::optional<std::size_t> checked_product(
    std::initializer_list<std::size_t> factors, std::size_t limit = SIZE_MAX) {
    return checked_product(std::span<const std::size_t>(factors.begin(), factors.size()), limit);
}

}  // namespace plexus::support
