#include "plexus/support/index_ranges.hpp"

#include <cctype>

#include "plexus/error.hpp"
#include "plexus/support/text.hpp"

namespace plexus::support {
namespace {

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

// Digits only (no sign, no exponent), at most kMaxIndex: "-1" and "1e3" are refused rather
// than read as something else.
bool read_index(std::string_view s, std::size_t& out) {
    s = trimmed(s);
    if (s.empty() || s.size() > 6) return false;
    out = 0;
    for (const char c : s) {
        if (c < '0' || c > '9') return false;
        out = out * 10 + static_cast<std::size_t>(c - '0');
    }
    return out <= kMaxIndex;
}

}  // namespace

IndexRanges parse_index_ranges(std::string_view text, const std::string& who) {
    const auto fail = [&](std::string_view part, const char* why) {
        throw ParamError(who + ": " + quote_for_message(text, 60) + " is not a list of indices: " +
                         quote_for_message(part, 30) + " " + why +
                         " (write indices from 0 and ranges as I-J, e.g. 0-3,5)");
    };
    IndexRanges out;
    std::size_t at = 0;
    while (true) {
        const std::size_t comma = text.find(',', at);
        const std::string_view part =
            text.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
        const std::size_t dash = part.find('-');
        std::size_t first = 0, last = 0;
        if (dash == std::string_view::npos) {
            if (!read_index(part, first)) fail(part, "is not an index in [0, 999999]");
            last = first;
        } else {
            if (!read_index(part.substr(0, dash), first) ||
                !read_index(part.substr(dash + 1), last))
                fail(part, "is not a range I-J of indices in [0, 999999]");
            if (first > last) fail(part, "runs backwards");
        }
        out.spans.emplace_back(first, last);
        if (comma == std::string_view::npos) break;
        at = comma + 1;
    }
    return out;
}

void check_index_ranges(const IndexRanges& ranges, std::size_t count, const std::string& who) {
    if (ranges.max() < count) return;
    throw ParamError(who + ": layer " + std::to_string(ranges.max()) +
                     " does not exist (the model has " + std::to_string(count) + " layers, 0-" +
                     std::to_string(count ? count - 1 : 0) + ")");
}

}  // namespace plexus::support
