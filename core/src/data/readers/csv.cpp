// CSV reader (RFC 4180). The whole file is read into memory and parsed record by record;
// features go straight into float32 storage, labels are kept as text until every row has
// been seen, because whether they are class ids or class names depends on all of them.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "plexus/core/data/readers/sources.hpp"
#include "plexus/error.hpp"
#include "plexus/support/text.hpp"
#include "reader_util.hpp"

namespace plexus::core {
namespace {

using detail::data_fail;

[[noreturn]] void fail_at(const std::filesystem::path& path, std::size_t line,
                          const std::string& what) {
    throw DataError(path.string() + ":" + std::to_string(line) + ": " + what);
}

constexpr std::size_t kMaxBytes = std::size_t{1} << 31;  // 2 GiB of text

bool is_blank(char c, char delimiter) {
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
                        "unexpected character '" + std::string(1, text_[pos_]) +
                            "' after a closing quote (write a quote inside a quoted "
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
bool parse_float(std::string_view s, float& out) {
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    if (s.empty()) return false;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && std::isfinite(out);
}

// Label kinds: a class id, another number (not usable as an id), or a class name.
enum class LabelKind { id, number, name };

LabelKind classify_label(std::string_view s, std::uint64_t& id) {
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
    if (ec == std::errc() && p == s.data() + s.size()) return LabelKind::id;
    if (ec == std::errc::result_out_of_range && p == s.data() + s.size()) return LabelKind::number;
    double v = 0;
    const std::string_view t = !s.empty() && s.front() == '+' ? s.substr(1) : s;
    const auto [q, ec2] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec2 != std::errc() || q != t.data() + t.size()) return LabelKind::name;
    if (!std::isfinite(v) || v < 0 || v != std::floor(v) || v > 1e18) return LabelKind::number;
    id = static_cast<std::uint64_t>(v);  // "3.0" as written by tools that store ids as floats
    return LabelKind::id;
}

std::size_t resolve_label_column(const std::filesystem::path& path, const CsvOptions& options,
                                 const std::vector<std::string>& names, std::size_t columns) {
    if (options.label.empty()) return columns - 1;
    if (options.header) {
        const auto it = std::find(names.begin(), names.end(), options.label);
        if (it != names.end()) return static_cast<std::size_t>(it - names.begin());
    }
    std::size_t index = 0;
    const std::string& s = options.label;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), index);
    if (ec == std::errc() && p == s.data() + s.size()) {
        if (index < columns) return index;
        throw ConfigError(path.string() + ": label=" + s + " is out of range (the file has " +
                          std::to_string(columns) + " columns, numbered 0 to " +
                          std::to_string(columns - 1) + ")");
    }
    if (!options.header)
        throw ConfigError(path.string() + ": label=" + s +
                          " names a column, but header=false; give a 0-based column index");
    throw ConfigError(path.string() + ": label=" + s + " names no column" +
                      support::did_you_mean(s, names) + " (columns: " + support::join(names) + ")");
}

}  // namespace

Dataset load_csv(const std::filesystem::path& path, const CsvOptions& options,
                 ClassOrigins* origins) {
    std::string text = detail::read_whole_file(path, kMaxBytes);
    std::string_view body = text;
    if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);  // UTF-8 byte order mark
    const std::string expect = options.header ? "a header line and data rows" : "data rows";

    CsvParser parser(body, options.delimiter, path);
    std::vector<std::string> cells;
    std::size_t line = 0;
    if (!parser.next(cells, line)) data_fail(path, "empty file (expected " + expect + ")");
    const std::size_t columns = cells.size();
    if (columns < 2)
        fail_at(path, line,
                "found 1 column (expected at least one feature "
                "and a label; is delimiter= right?)");
    std::vector<std::string> names;
    if (options.header) names = cells;
    const std::size_t label_col = resolve_label_column(path, options, names, columns);
    const auto column = [&](std::size_t j) {
        return options.header ? "column '" + names[j] + "'" : "column " + std::to_string(j);
    };
    const auto at_line = [&](std::size_t l) { return path.string() + ":" + std::to_string(l); };

    Dataset ds;
    ds.source = path.string();
    ds.sample_shape = {columns - 1};
    std::vector<std::string> label_text;
    std::vector<std::size_t> label_line;
    bool have_record = !options.header;
    while (have_record || parser.next(cells, line)) {
        have_record = false;
        if (cells.size() != columns)
            fail_at(path, line,
                    "expected " + std::to_string(columns) + " columns, found " +
                        std::to_string(cells.size()));
        for (std::size_t j = 0; j < columns; ++j) {
            if (j == label_col) continue;
            float v = 0;
            if (!parse_float(cells[j], v))
                fail_at(path, line,
                        column(j) + " is not a number: '" + cells[j] + "'" +
                            (cells[j].empty() ? " (missing values are not supported)" : ""));
            ds.f32.push_back(v);
        }
        if (cells[label_col].empty())
            fail_at(path, line, column(label_col) + " (the label) is empty");
        label_text.push_back(std::move(cells[label_col]));
        label_line.push_back(line);
    }
    ds.count = label_text.size();
    if (ds.count == 0)
        data_fail(path,
                  options.header ? "no data rows (found only the header line)" : "no data rows");

    // Class ids when every label is one, else class names.
    std::vector<std::uint64_t> ids(ds.count);
    bool all_ids = true, all_numbers = true;
    std::size_t not_id = 0;
    for (std::size_t i = 0; i < ds.count; ++i) {
        const LabelKind kind = classify_label(label_text[i], ids[i]);
        if (kind != LabelKind::id && all_ids) {
            all_ids = false;
            not_id = i;
        }
        if (kind == LabelKind::name) all_numbers = false;
    }
    if (!all_ids && all_numbers)
        fail_at(path, label_line[not_id],
                "label '" + label_text[not_id] + "' in " + column(label_col) +
                    " is a number but not a class id (expected integers >= 0 or class "
                    "names; is label= the right column?)");
    ClassOrigins where;
    ds.labels.resize(ds.count);
    if (all_ids) {
        const auto top = std::max_element(ids.begin(), ids.end());
        if (*top > kMaxClassId) {
            const auto i = static_cast<std::size_t>(top - ids.begin());
            fail_at(path, label_line[i],
                    "class id " + label_text[i] + " in " + column(label_col) +
                        " is too large (at most " + std::to_string(kMaxClassId) +
                        "; is label= the right column?)");
        }
        ds.classes = static_cast<std::size_t>(*top) + 1;
        where.assign(ds.classes, path.string());
        std::vector<bool> seen(ds.classes, false);
        for (std::size_t i = 0; i < ds.count; ++i) {
            ds.labels[i] = static_cast<std::uint32_t>(ids[i]);
            if (!seen[ids[i]]) where[ids[i]] = at_line(label_line[i]);
            seen[ids[i]] = true;
        }
        for (std::size_t c = 0; c < ds.classes; ++c) ds.class_names.push_back(std::to_string(c));
    } else {
        std::map<std::string, std::size_t> first;  // sorted names -> first row
        for (std::size_t i = 0; i < ds.count; ++i) first.emplace(label_text[i], i);
        if (first.size() > kMaxClassId + 1)
            data_fail(path, "too many distinct labels in " + column(label_col) + " (" +
                                std::to_string(first.size()) + ", at most " +
                                std::to_string(kMaxClassId + 1) + ")");
        std::map<std::string_view, std::uint32_t> id_of;
        for (const auto& [name, row] : first) {
            id_of.emplace(name, static_cast<std::uint32_t>(ds.class_names.size()));
            ds.class_names.push_back(name);
            where.push_back(at_line(label_line[row]));
        }
        for (std::size_t i = 0; i < ds.count; ++i) ds.labels[i] = id_of.at(label_text[i]);
        ds.classes = ds.class_names.size();
    }
    if (origins) *origins = std::move(where);
    return ds;
}

}  // namespace plexus::core
