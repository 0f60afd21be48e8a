// Substring checks for the tests of generated text (report.html, the terminal reports).
#pragma once

#include <cstddef>
#include <string>

namespace plexus::test {

inline bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

/// How many times `part` occurs in `s`, overlapping occurrences included.
inline std::size_t count(const std::string& s, const std::string& part) {
    std::size_t n = 0;
    for (std::size_t at = s.find(part); at != std::string::npos; at = s.find(part, at + 1)) ++n;
    return n;
}

}  // namespace plexus::test
