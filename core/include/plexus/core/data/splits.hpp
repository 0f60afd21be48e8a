// Honest splits: a seeded shuffle before every split (never "the last rows"), optionally
// stratified so each split keeps the class proportions, always disjoint.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#pragma GCC visibility push(default)

namespace plexus::core {

struct SplitSpec {
    double validation = 0.0;  // fraction of the pool held out for validation
    double test = 0.0;        // fraction of the pool held out for testing (no test file)
    bool stratified = false;  // keep each class's proportion in every split
};

struct Splits {
    std::vector<std::uint32_t> train, validation, test;
};

/// Splits `pool` (indices into a dataset whose labels are `labels`) with a shuffle seeded by
/// `seed`. Stratified: each class is split separately (its share rounded to the nearest
/// sample), so a split's class proportions match the pool's. Requires validation + test < 1.
Splits make_splits(const std::vector<std::uint32_t>& pool, const std::vector<std::uint32_t>& labels,
                   const SplitSpec& spec, std::uint64_t seed);

/// Samples per class among `indices`.
std::vector<std::size_t> class_counts(const std::vector<std::uint32_t>& indices,
                                      const std::vector<std::uint32_t>& labels,
                                      std::size_t classes);

/// Parses "0.1", "0.1 stratified" or "stratified 0.1" for a fraction in [0, 1); `stratified`
/// is set when the word is present. Throws ConfigError prefixed with `where`.
double parse_fraction(const std::string& text, const std::string& where, bool& stratified);

/// Parses a split written as percentages: "A:B" is train:test, "A:B:C" is
/// train:validation:test (e.g. 80:20, 70:30, 60:20:20, 70:15:15, 98:1:1). Every part is a
/// positive number and the parts sum to 100 (a typo such as 80:30 is an error, not rescaled);
/// the word "stratified" may come before or after the ratio. Throws ConfigError prefixed
/// with `where`.
SplitSpec parse_split(const std::string& text, const std::string& where);

}  // namespace plexus::core

#pragma GCC visibility pop
