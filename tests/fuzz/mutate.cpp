// Byte and text mutations in the spirit of AFL's havoc stage: a few cheap, local changes
// stacked on a valid input reach the parsers' corner cases (counts, lengths, separators,
// numbers) far more often than random bytes would.
#include "mutate.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <iterator>

namespace plexus::fuzz {

std::uint64_t Rng::next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

std::uint64_t case_seed(std::uint64_t seed, std::uint64_t index) {
    Rng rng(seed * 0x100000001b3ull + index);
    return rng.next();
}

const std::vector<std::string>& interesting_numbers() {
    static const std::vector<std::string> all = {
        "0", "-1", "1", "-0", "2147483647", "2147483648", "4294967295", "4294967296",
        "9223372036854775807", "9223372036854775808", "18446744073709551615",
        "18446744073709551616", "16777217", "65536", "99999999999999999999999999", "nan", "-nan",
        "NaN", "inf", "-inf", "1e309", "-1e309", "1e-320", "0x10", "1e18", "3.5", ""};
    return all;
}

namespace {

// An offset in [0, size): half the time within the first `header` bytes.
std::size_t offset(const std::string& d, Rng& rng, std::size_t header) {
    if (d.empty()) return 0;
    const std::size_t span = rng.chance(50) ? std::min(header, d.size()) : d.size();
    return rng.below(std::max<std::size_t>(span, 1));
}

std::string random_bytes(Rng& rng, std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng.next());
    return s;
}

void bit_flip(std::string& d, Rng& rng, std::size_t header, Notes& notes) {
    if (d.empty()) d.push_back('\0');
    for (std::size_t i = 0, n = 1 + rng.below(4); i < n; ++i) {
        const std::size_t at = offset(d, rng, header);
        d[at] = static_cast<char>(d[at] ^ (1 << rng.below(8)));
        notes.push_back("flip a bit at " + std::to_string(at));
    }
}

void set_byte(std::string& d, Rng& rng, std::size_t header, Notes& notes) {
    if (d.empty()) d.push_back('\0');
    static const unsigned char kBytes[] = {0x00, 0xff, 0x7f, 0x80, 0x20, 0x0a, 0x01};
    const std::size_t at = offset(d, rng, header);
    d[at] = static_cast<char>(rng.chance(70) ? kBytes[rng.below(sizeof kBytes)] : rng.next());
    notes.push_back("set byte " + std::to_string(at));
}

void insert_bytes(std::string& d, Rng& rng, std::size_t header, Notes& notes) {
    const std::size_t at = d.empty() ? 0 : offset(d, rng, header);
    const std::size_t n = 1 + rng.below(16);
    d.insert(at, random_bytes(rng, n));
    notes.push_back("insert " + std::to_string(n) + " bytes at " + std::to_string(at));
}

void delete_bytes(std::string& d, Rng& rng, std::size_t header, Notes& notes) {
    if (d.empty()) return;
    const std::size_t at = offset(d, rng, header);
    const std::size_t n = std::min(d.size() - at, 1 + rng.below(64));
    d.erase(at, n);
    notes.push_back("delete " + std::to_string(n) + " bytes at " + std::to_string(at));
}

// 0, 1, 2^7 - 1, 2^7, 2^8 - 1, 2^15, 2^16 - 1, 2^31 - 1, 2^31, 2^32 - 1, 2^32, 2^63 - 1,
// 2^63, 2^64 - 1 (-1), and the bit patterns of float NaN and infinity and double NaN; cut to
// the width written.
void write_int(std::string& d, Rng& rng, std::size_t header, Notes& notes) {
    static const std::uint64_t kValues[] = {0,
                                            1,
                                            0x7f,
                                            0x80,
                                            0xff,
                                            0x8000,
                                            0xffff,
                                            0x7fffffff,
                                            0x80000000,
                                            0xffffffff,
                                            0x100000000,
                                            0x7fffffffffffffff,
                                            0x8000000000000000,
                                            0xffffffffffffffff,
                                            0x7fc00000,
                                            0x7f800000,
                                            0x7ff8000000000000};
    static const std::size_t kWidths[] = {1, 2, 4, 8};
    const std::size_t width = kWidths[rng.below(4)];
    const std::uint64_t v = kValues[rng.below(std::size(kValues))] & (~0ull >> (64 - 8 * width));
    const bool big_endian = rng.chance(50);
    if (d.size() < width) d.resize(width, '\0');
    const std::size_t at = std::min(offset(d, rng, header), d.size() - width);
    for (std::size_t i = 0; i < width; ++i) {
        const std::size_t shift = 8 * (big_endian ? width - 1 - i : i);
        d[at + i] = static_cast<char>(v >> shift);
    }
    notes.push_back("write " + std::to_string(width) + "-byte " + (big_endian ? "BE " : "LE ") +
                    std::to_string(v) + " at " + std::to_string(at));
}

void cut(std::string& d, Rng& rng, std::size_t, Notes& notes) {
    if (d.empty()) return;
    const std::size_t keep =
        rng.chance(50) ? d.size() - std::min(d.size(), 1 + rng.below(16)) : rng.below(d.size());
    d.resize(keep);
    notes.push_back("truncate to " + std::to_string(keep) + " bytes");
}

void duplicate_chunk(std::string& d, Rng& rng, std::size_t header, Notes& notes) {
    if (d.empty()) return;
    const std::size_t from = offset(d, rng, header);
    const std::size_t n = std::min(d.size() - from, 1 + rng.below(64));
    const std::size_t to = rng.chance(30) ? from + n : rng.below(d.size() + 1);
    d.insert(to, d.substr(from, n));
    notes.push_back("copy " + std::to_string(n) + " bytes from " + std::to_string(from) + " to " +
                    std::to_string(to));
}

void append(std::string& d, Rng& rng, std::size_t header, Notes& notes) {
    // Trailing garbage, or a second copy of the header (a file that seems to start twice).
    const std::string tail =
        rng.chance(50) ? random_bytes(rng, 1 + rng.below(64)) : d.substr(0, std::min(header, d.size()));
    d += tail;
    notes.push_back("append " + std::to_string(tail.size()) + " bytes");
}

using ByteOp = void (*)(std::string&, Rng&, std::size_t, Notes&);
constexpr ByteOp kByteOps[] = {bit_flip,        set_byte, insert_bytes, delete_bytes, write_int,
                               cut,      duplicate_chunk, append};

// --- text -----------------------------------------------------------------------------------

struct Span {
    std::size_t at, size;
};

// Decimal numbers: an optional sign, digits, an optional fraction and exponent.
std::vector<Span> numbers(const std::string& t) {
    std::vector<Span> out;
    for (std::size_t i = 0; i < t.size();) {
        if (!std::isdigit(static_cast<unsigned char>(t[i]))) {
            ++i;
            continue;
        }
        std::size_t start = i > 0 && t[i - 1] == '-' ? i - 1 : i;
        while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.' ||
                                t[i] == 'e' || t[i] == 'E' ||
                                ((t[i] == '-' || t[i] == '+') && (t[i - 1] == 'e' || t[i - 1] == 'E'))))
            ++i;
        out.push_back({start, i - start});
    }
    return out;
}

std::vector<Span> words(const std::string& t) {
    std::vector<Span> out;
    for (std::size_t i = 0; i < t.size();) {
        if (!std::isalpha(static_cast<unsigned char>(t[i])) && t[i] != '_') {
            ++i;
            continue;
        }
        const std::size_t start = i;
        while (i < t.size() && (std::isalnum(static_cast<unsigned char>(t[i])) || t[i] == '_')) ++i;
        out.push_back({start, i - start});
    }
    return out;
}

std::vector<Span> lines(const std::string& t) {
    std::vector<Span> out;
    for (std::size_t start = 0; start < t.size();) {
        const std::size_t end = t.find('\n', start);
        const std::size_t stop = end == std::string::npos ? t.size() : end + 1;
        out.push_back({start, stop - start});
        start = stop;
    }
    return out;
}

void replace_number(std::string& t, Rng& rng, Notes& notes) {
    const auto spans = numbers(t);
    const std::string& value = rng.pick(interesting_numbers());
    if (spans.empty()) {
        const std::size_t at = rng.below(t.size() + 1);
        t.insert(at, value);
        notes.push_back("insert number '" + value + "' at " + std::to_string(at));
        return;
    }
    const Span s = spans[rng.below(spans.size())];
    notes.push_back("number '" + t.substr(s.at, s.size) + "' -> '" + value + "' at " +
                    std::to_string(s.at));
    t.replace(s.at, s.size, value);
}

void duplicate_line(std::string& t, Rng& rng, Notes& notes) {
    const auto ls = lines(t);
    if (ls.empty()) return;
    const Span s = ls[rng.below(ls.size())];
    std::string line = t.substr(s.at, s.size);
    if (line.back() != '\n') line += '\n';
    const std::size_t to = rng.chance(60) ? s.at : ls[rng.below(ls.size())].at;
    t.insert(to, line);
    notes.push_back("duplicate the line at " + std::to_string(s.at));
}

void delete_line(std::string& t, Rng& rng, Notes& notes) {
    const auto ls = lines(t);
    if (ls.empty()) return;
    const Span s = ls[rng.below(ls.size())];
    t.erase(s.at, s.size);
    notes.push_back("delete the line at " + std::to_string(s.at));
}

void swap_word(std::string& t, Rng& rng, Notes& notes) {
    const auto ws = words(t);
    if (ws.size() < 2) return;
    const Span a = ws[rng.below(ws.size())], b = ws[rng.below(ws.size())];
    const std::string word = t.substr(b.at, b.size);
    notes.push_back("word '" + t.substr(a.at, a.size) + "' -> '" + word + "'");
    t.replace(a.at, a.size, word);
}

// Cuts a value: the text after an '=' or ':' or between two commas, up to the line's end.
void empty_value(std::string& t, Rng& rng, Notes& notes) {
    std::vector<std::size_t> marks;
    for (std::size_t i = 0; i < t.size(); ++i)
        if (t[i] == '=' || t[i] == ':' || t[i] == ',') marks.push_back(i + 1);
    if (marks.empty()) return;
    const std::size_t at = marks[rng.below(marks.size())];
    std::size_t end = at;
    while (end < t.size() && t[end] != '\n' && t[end] != ',' && t[end] != '"') ++end;
    t.erase(at, end - at);
    notes.push_back("empty the value at " + std::to_string(at));
}

void insert_control(std::string& t, Rng& rng, Notes& notes) {
    static const std::vector<std::string> kBits = {
        "\x1b[31m", "\x1b]0;pwned\x07", std::string(1, '\0'), "\r", "\x7f", "\xff\xfe",
        "\xc3",     "\xed\xa0\x80",      "\t",                 "\n", "\x01", "\"", "\\", "'"};
    const std::size_t at = rng.below(t.size() + 1);
    t.insert(at, rng.pick(kBits));
    notes.push_back("insert a control or quoting character at " + std::to_string(at));
}

// A long string: letters, digits (a huge number), '[' (deep nesting for a JSON list) or a
// word of the file repeated.
void insert_long(std::string& t, Rng& rng, Notes& notes) {
    static const std::size_t kSizes[] = {1200, 20000, 300000};
    const std::size_t n = kSizes[rng.below(3)];
    std::string s;
    switch (rng.below(4)) {
        case 0: s.assign(n, 'A'); break;
        case 1: s.assign(n, '9'); break;
        case 2: s.assign(n, '['); break;
        default: {
            const auto ws = words(t);
            const Span w = ws.empty() ? Span{0, 0} : ws[rng.below(ws.size())];
            const std::string word = ws.empty() ? "x" : t.substr(w.at, w.size);
            while (s.size() < n) s += word + ",";
        }
    }
    const std::size_t at = rng.below(t.size() + 1);
    t.insert(at, s);
    notes.push_back("insert " + std::to_string(s.size()) + " long characters at " + std::to_string(at));
}

// A list of integers such as "[8, 4]" gets kWrapDims appended: the same product modulo 2^64.
void wrap_dims(std::string& t, Rng& rng, Notes& notes) {
    std::vector<std::size_t> ends;
    for (std::size_t close = t.find(']'); close != std::string::npos; close = t.find(']', close + 1)) {
        const std::size_t open = t.rfind('[', close);
        if (open == std::string::npos || close == open + 1) continue;
        const std::string inner = t.substr(open + 1, close - open - 1);
        if (inner.find_first_not_of("0123456789, ") == std::string::npos) ends.push_back(close);
    }
    if (ends.empty()) return replace_number(t, rng, notes);
    const std::size_t at = ends[rng.below(ends.size())];
    std::string dims;
    for (const std::uint64_t d : kWrapDims) dims += "," + std::to_string(d);
    t.insert(at, dims);
    notes.push_back("append dimensions whose product wraps at " + std::to_string(at));
}

using TextOp = void (*)(std::string&, Rng&, Notes&);
constexpr TextOp kTextOps[] = {replace_number, replace_number, duplicate_line, delete_line,
                               swap_word,      empty_value,    insert_control, insert_long,
                               wrap_dims};

}  // namespace

void mutate_bytes(std::string& data, Rng& rng, Notes& notes, std::size_t header, int max_ops) {
    for (int i = 0, n = 1 + static_cast<int>(rng.below(static_cast<std::size_t>(max_ops))); i < n; ++i)
        kByteOps[rng.below(std::size(kByteOps))](data, rng, header, notes);
}

void mutate_text(std::string& text, Rng& rng, Notes& notes, int max_ops) {
    for (int i = 0, n = 1 + static_cast<int>(rng.below(static_cast<std::size_t>(max_ops))); i < n; ++i) {
        if (rng.chance(10))
            kByteOps[rng.below(std::size(kByteOps))](text, rng, text.size(), notes);
        else
            kTextOps[rng.below(std::size(kTextOps))](text, rng, notes);
    }
}

}  // namespace plexus::fuzz
