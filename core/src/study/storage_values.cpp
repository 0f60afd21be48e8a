// Reading cells and writing parameters for the SQL connections (sql.hpp). Every cell is
// treated as hostile: a damaged or hand-edited database must give an error, never a number
// that merely looks right.
#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

#include "sql.hpp"

namespace plexus::core::sql {

namespace {

std::string shown(const Value& cell) {
    if (std::holds_alternative<std::monostate>(cell)) return "NULL";
    if (const auto* i = std::get_if<std::int64_t>(&cell)) return std::to_string(*i);
    if (const auto* d = std::get_if<double>(&cell)) return real_text(*d);
    std::string text = std::get<std::string>(cell);
    if (text.size() > 40) text = text.substr(0, 40) + "...";
    return "'" + clean_text(text) + "'";
}

}  // namespace

const Value& Row::at(std::size_t i) const {
    if (i >= cells_.size()) throw BadValue("the result has no column " + std::to_string(i));
    return cells_[i];
}

bool Row::is_null(std::size_t i) const {
    return std::holds_alternative<std::monostate>(at(i));
}

std::int64_t Row::integer(std::size_t i) const {
    const Value& cell = at(i);
    if (const auto* v = std::get_if<std::int64_t>(&cell)) return *v;
    if (const auto* text = std::get_if<std::string>(&cell)) {
        std::int64_t v = 0;
        const char* end = text->data() + text->size();
        auto [ptr, ec] = std::from_chars(text->data(), end, v);
        if (ec == std::errc() && ptr == end && !text->empty()) return v;
    }
    throw BadValue(shown(cell) + " is not an integer");
}

double Row::real(std::size_t i) const {
    const Value& cell = at(i);
    if (const auto* v = std::get_if<double>(&cell)) return *v;
    if (const auto* v = std::get_if<std::int64_t>(&cell)) return static_cast<double>(*v);
    if (const auto* text = std::get_if<std::string>(&cell)) {
        double v = 0.0;
        const char* end = text->data() + text->size();
        auto [ptr, ec] = std::from_chars(text->data(), end, v);
        if (ec == std::errc() && ptr == end && !text->empty()) return v;
    }
    throw BadValue(shown(cell) + " is not a number");
}

std::string Row::text(std::size_t i) const {
    const Value& cell = at(i);
    if (const auto* text = std::get_if<std::string>(&cell)) return *text;
    throw BadValue(shown(cell) + " is not text");
}

std::string replace_word(std::string text, std::string_view word, std::string_view replacement) {
    const std::string token = "{" + std::string(word) + "}";
    for (std::size_t at = text.find(token); at != std::string::npos;
         at = text.find(token, at + replacement.size())) {
        text.replace(at, token.size(), replacement);
    }
    return text;
}

std::string real_text(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
    char buffer[64];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, end);
}

std::string clean_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const auto byte = static_cast<unsigned char>(text[i]);
        // The sequence this lead byte announces: its length, the payload bits of the lead
        // byte, and the smallest code point it may encode (longer encodings of smaller ones
        // are invalid UTF-8).
        struct Lead {
            unsigned char mask, pattern;
            std::size_t length;
            char32_t payload, minimum;
        };
        static constexpr Lead kLeads[] = {{0x80, 0x00, 1, 0x7F, 0x01},
                                          {0xE0, 0xC0, 2, 0x1F, 0x80},
                                          {0xF0, 0xE0, 3, 0x0F, 0x800},
                                          {0xF8, 0xF0, 4, 0x07, 0x10000}};
        std::size_t length = 0;
        char32_t minimum = 0;
        char32_t code = 0;
        for (const Lead& lead : kLeads) {
            if ((byte & lead.mask) != lead.pattern) continue;
            length = lead.length;
            minimum = lead.minimum;
            code = byte & lead.payload;
            break;
        }
        bool valid = length > 0 && i + length <= text.size();
        for (std::size_t k = 1; valid && k < length; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            valid = (next & 0xC0) == 0x80;
            code = (code << 6) | (next & 0x3F);
        }
        valid = valid && code >= minimum && code <= 0x10FFFF && !(code >= 0xD800 && code <= 0xDFFF);
        if (valid) {
            out.append(text.substr(i, length));
            i += length;
        } else {
            out.push_back('?');
            ++i;
        }
    }
    return out;
}

}  // namespace plexus::core::sql
