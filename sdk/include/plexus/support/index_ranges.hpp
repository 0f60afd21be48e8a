// A list of indices as a user writes it, "0-3,5": which layers to freeze, to copy from a
// saved model or to unfreeze, which classes to keep. Kept as ranges, so "0-999999" costs two
// numbers, not a million.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plexus/export.hpp"

namespace plexus::support {

/// Inclusive ranges of indices, in the order written.
struct IndexRanges {
    std::vector<std::pair<std::size_t, std::size_t>> spans;  // first <= last

    bool contains(std::size_t index) const {
        for (const auto& [first, last] : spans)
            if (index >= first && index <= last) return true;
        return false;
    }
    /// The largest index named (0 when empty).
    std::size_t max() const {
        std::size_t m = 0;
        for (const auto& span : spans) m = span.second > m ? span.second : m;
        return m;
    }
    bool empty() const { return spans.empty(); }
};

/// The largest index parse_index_ranges accepts: far beyond any model's layer count, small
/// enough that no arithmetic on it overflows.
inline constexpr std::size_t kMaxIndex = 999999;

/// Parses "I", "I-J" (I <= J) and comma-separated lists of them ("0-3,5"); spaces around
/// the numbers are allowed. Ensures at least one range, every index <= kMaxIndex. Throws
/// ParamError "WHO: 'TEXT' is not a list of indices: ... (e.g. 0-3,5)" naming the bad
/// part otherwise.
PLEXUS_API IndexRanges parse_index_ranges(std::string_view text, const std::string& who);

/// Checks that every index of `ranges` is below `count`; throws ParamError "WHO: layer I
/// does not exist (the model has COUNT layers, 0-LAST)" otherwise.
PLEXUS_API void check_index_ranges(const IndexRanges& ranges, std::size_t count,
                                   const std::string& who);

}  // namespace plexus::support
