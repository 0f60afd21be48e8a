// The CSV tokenizer shared by the csv: and series: readers (private to the core): RFC 4180
// quoting, LF or CRLF, blank lines and blanks around cells ignored, physical line numbers kept
// for messages.
#pragma once

#include <charconv>
#include <cmath>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "plexus/error.hpp"
#include "plexus/support/text.hpp"

namespace plexus::core::detail {

[[noreturn]] inline void fail_at(const std::filesystem::path& path, std::size_t line,
                                 const std::string& what) {
    throw DataError(support::printable(path.string(), support::kMaxShownPathBytes) + ":" +
                    std::to_string(line) + ": " + what);
}

inline constexpr std::size_t kMaxCsvBytes = std::size_t{1} << 31;  // 2 GiB of text

inline bool is_blank(char c, char delimiter) {
    return (c == ' ' || c == '\t') && c != delimiter;
}

// Splits the text into records of cells, tracking the physical line each record starts on.
class CsvParser {
public:
    CsvParser(std::string_view text, char delimiter, const std::filesystem::path& path)
        : text_(text), delim_(delimiter), path_(path) {}

    // The next record that is not blank; false at the end of the text.
    bool next(std::vector<std::string>& cells, std::size_t& line) {
        skip_blank_lines();
        if (pos_ >= text_.size()) return false;
        line = line_;
        cells.clear();
        for (;;) {
            cells.push_back(field());
            if (pos_ >= text_.size()) return true;
            if (text_[pos_] == delim_) {
                ++pos_;
                continue;
            }
            end_line();  // field() stops only at the delimiter, a line end or the end
            return true;
        }
    }

private:
    bool at_line_end() const {
        return pos_ >= text_.size() || text_[pos_] == '\n' || text_[pos_] == '\r';
    }
    void end_line() {
        if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
        ++pos_;
        ++line_;
    }
    void skip_blank_lines() {
        for (;;) {
            std::size_t p = pos_;
            while (p < text_.size() && is_blank(text_[p], delim_)) ++p;
            if (p < text_.size() && text_[p] != '\n' && text_[p] != '\r') return;
            pos_ = p;
            if (pos_ >= text_.size()) return;
            end_line();
        }
    }
    std::string field() {
        while (pos_ < text_.size() && is_blank(text_[pos_], delim_)) ++pos_;
        std::string out;
        if (pos_ < text_.size() && text_[pos_] == '"') {
            const std::size_t opened = line_;
            ++pos_;
            for (;;) {
                if (pos_ >= text_.size())
                    fail_at(path_, opened,
                            "unterminated quoted field (a '\"' opened on this "
                            "line is never closed)");
                const char c = text_[pos_++];
                if (c == '"') {
                    if (pos_ < text_.size() && text_[pos_] == '"') {
                        out += '"';
                        ++pos_;
                        continue;
                    }
                    break;
                }
                if (c == '\n') ++line_;
                out += c;
            }
            while (pos_ < text_.size() && is_blank(text_[pos_], delim_)) ++pos_;
            if (!at_line_end() && text_[pos_] != delim_)
                fail_at(path_, line_,
                        "unexpected character " +
                            support::quote_for_message(text_.substr(pos_, 1)) +
                            " after a closing quote (write a quote inside a quoted "
                            "field as \"\")");
            return out;
        }
        const std::size_t start = pos_;
        while (!at_line_end() && text_[pos_] != delim_) ++pos_;
        std::size_t end = pos_;
        while (end > start && is_blank(text_[end - 1], delim_)) --end;
        return std::string(text_.substr(start, end - start));
    }

    std::string_view text_;
    char delim_;
    const std::filesystem::path& path_;
    std::size_t pos_ = 0;
    std::size_t line_ = 1;
};

// Parses a whole cell as a finite float32.
inline bool parse_float(std::string_view s, float& out) {
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    if (s.empty()) return false;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && std::isfinite(out);
}

/// The text without a UTF-8 byte order mark.
inline std::string_view strip_bom(std::string_view text) {
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    return text;
}

/// The 0-based column that `KEY=value` names among `count` columns: a header name first, else
/// an index. Throws ConfigError "PATH: KEY=value ..." naming the columns when it names none.
std::size_t resolve_column(const std::filesystem::path& path, const std::string& key,
                           const std::string& value, const std::vector<std::string>& names,
                           std::size_t count, bool header);

}  // namespace plexus::core::detail
