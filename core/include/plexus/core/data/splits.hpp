// Honest splits: a seeded shuffle before every split (never "the last rows"), optionally
// stratified so each split keeps the class proportions, always disjoint. Time-ordered data
// is split chronologically instead: validation and test are its most recent parts.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#pragma GCC visibility push(default)

namespace plexus::core {

struct SplitSpec {
    double validation = 0.0;     // fraction of the pool held out for validation
    double test = 0.0;           // fraction of the pool held out for testing (no test file)
    bool stratified = false;     // keep each class's proportion in every split
    bool chronological = false;  // validation and test from the end, in time order
};

struct Splits {
    std::vector<std::uint32_t> train, validation, test;
    std::size_t dropped = 0;  // chronological: samples that crossed a cut (in no split)
};

/// Splits `pool` (indices into a dataset whose labels are `labels`) with a shuffle seeded by
/// `seed`. Stratified: each class is split separately (its share rounded to the nearest
/// sample), so a split's class proportions match the pool's. Requires validation + test < 1.
Splits make_splits(const std::vector<std::uint32_t>& pool, const std::vector<std::uint32_t>& labels,
                   const SplitSpec& spec, std::uint64_t seed);

/// Splits a time-ordered `pool` (indices of a dataset whose sample i reads the series rows
/// spans[i], first to last; with `spans` empty, sample i is row i) by cutting the rows the
/// pool covers into train | validation | test, test last: the test part holds the last
/// round(test · rows) rows, the validation part the round(validation · rows) before them.
/// A sample goes to the part that holds all of its rows; one that crosses a cut is in no
/// part (counted in `dropped`), so no window reads a row of another part. Every part keeps
/// the pool's order. Requires validation + test < 1 and every pool index < spans.size()
/// (when spans is non-empty).
Splits make_chronological_splits(const std::vector<std::uint32_t>& pool,
                                 const std::vector<std::array<std::uint32_t, 2>>& spans,
                                 const SplitSpec& spec);

/// Samples per class among `indices` (none for a dataset without classes).
std::vector<std::size_t> class_counts(const std::vector<std::uint32_t>& indices,
                                      const std::vector<std::uint32_t>& labels,
                                      std::size_t classes);

/// Parses "0.1", "0.1 stratified" or "stratified 0.1" for a fraction in [0, 1); `stratified`
/// is set when the word is present. With `chronological`, the word "chronological" is
/// accepted too and sets it. Throws ConfigError prefixed with `where`.
double parse_fraction(const std::string& text, const std::string& where, bool& stratified,
                      bool* chronological = nullptr);

/// Parses a split written as percentages: "A:B" is train:test, "A:B:C" is
/// train:validation:test (e.g. 80:20, 70:30, 60:20:20, 70:15:15, 98:1:1). Every part is a
/// positive number and the parts sum to 100 (a typo such as 80:30 is an error, not rescaled);
/// the word "stratified" or "chronological" (not both) may come before or after the ratio.
/// Throws ConfigError prefixed with `where`.
SplitSpec parse_split(const std::string& text, const std::string& where);

}  // namespace plexus::core

#pragma GCC visibility pop
