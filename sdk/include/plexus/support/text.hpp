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

/// How many bytes of a file's text a message shows by default (a key, a cell, a class name).
inline constexpr std::size_t kMaxShownBytes = 200;
/// How many bytes of a path a message shows (paths name files from elsewhere too).
inline constexpr std::size_t kMaxShownPathBytes = 1024;

/// `text` made safe to print in a one-line message, a terminal or a log: control characters
/// (C0, DEL and C1, and the line and bidirectional-override marks U+2028/9, U+200E/F,
/// U+202A-E, U+2066-9) and bytes that are not valid UTF-8 become escapes (\x1b, \u202e), so
/// nothing from a file can move the cursor, recolour the terminal, reorder the line or cut it
/// (a NUL shows as \x00). Ensures: at most about `max_bytes` bytes (never a split character):
/// longer text is cut and ends in "…". Printable UTF-8 shorter than that comes back as is.
PLEXUS_API std::string printable(std::string_view text, std::size_t max_bytes = kMaxShownBytes);

/// printable(text, max_bytes) in single quotes: 'text'. What every error that echoes text from
/// a file (a CSV cell, a metadata value, a class name) shows.
PLEXUS_API std::string quote_for_message(std::string_view text,
                                         std::size_t max_bytes = kMaxShownBytes);

/// join(items, sep) of printable(item, max_item_bytes), listing at most `max_items` of them and
/// then ", … (N in all)": a file with a million columns cannot make a million-name message.
PLEXUS_API std::string join_for_message(const std::vector<std::string>& items,
                                        std::size_t max_items = 20,
                                        std::size_t max_item_bytes = 40);

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
