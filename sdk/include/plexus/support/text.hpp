// Text helpers for plugins and the host: trimming, splitting and joining lists, and the
// "did you mean" hints that every error naming a choice should carry. Numbers are formatted
// with {fmt} (a dependency of the SDK): fmt::format("{:.6g}", x) prints what printf's %.6g
// prints, without a hand-sized buffer.
#pragma once

#include <charconv>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "plexus/export.hpp"

namespace plexus::support {

/// `s` without leading and trailing spaces, tabs, CRs and LFs.
PLEXUS_API std::string trim(std::string_view s);

/// The pieces of `s` between each `sep`, untrimmed. Ensures: n separators give n + 1 pieces,
/// so "" gives one empty piece and "a," gives {"a", ""}.
PLEXUS_API std::vector<std::string> split(std::string_view s, char sep);

/// `items` separated by `sep`: join({"a", "b"}) is "a, b"; an empty list gives "".
PLEXUS_API std::string join(const std::vector<std::string>& items, std::string_view sep = ", ");

/// Levenshtein edit distance: the fewest single-character insertions, deletions and
/// substitutions that turn `a` into `b`.
PLEXUS_API std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word`, if it is within max(2, |word| / 3) edits; "" when none
/// is that close. Ties go to the earlier candidate.
PLEXUS_API std::string closest_match(std::string_view word,
                                     const std::vector<std::string>& candidates);

/// " (did you mean 'x'?)" for the closest_match() x, or "" when there is none: append it to
/// an error that names an unknown word.
PLEXUS_API std::string did_you_mean(std::string_view word,
                                    const std::vector<std::string>& candidates);

/// Parses "<first><sep><second>" (e.g. "0,1" with ',' or "28x28" with 'x') into two
/// numbers of type T with std::from_chars. Returns false, leaving no guarantee on the
/// outputs, unless the whole text is exactly two numbers around one `sep`.
template <class T>
bool parse_pair(std::string_view text, char sep, T& first, T& second) {
    const auto at = text.find(sep);
    if (at == std::string_view::npos) return false;
    const char* const begin = text.data();
    const char* const end = begin + text.size();
    const auto a = std::from_chars(begin, begin + at, first);
    const auto b = std::from_chars(begin + at + 1, end, second);
    return a.ec == std::errc() && a.ptr == begin + at && b.ec == std::errc() && b.ptr == end;
}

}  // namespace plexus::support
