// Small text helpers shared by the core and the app.
#pragma once

#include <string>
#include <string_view>
#include <vector>

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

std::string trim(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);
/// Levenshtein edit distance.
std::size_t edit_distance(std::string_view a, std::string_view b);
/// The closest candidate within a small distance, or "" when none is close.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);
/// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);
/// "a, b, c"
std::string join(const std::vector<std::string>& items, std::string_view sep = ", ");

}  // namespace plexus::core

#pragma GCC visibility pop
