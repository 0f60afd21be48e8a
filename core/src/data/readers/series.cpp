// series: reader. The needed columns are read into one float vector each (NaN marks a missing
// cell), interior gaps are interpolated, and only then is the table cut into windows, so a
// window never sees a missing value and the memory bound is checked before windows are
// allocated.
#include "plexus/core/data/readers/series.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <new>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "csv_parser.hpp"
#include "plexus/core/data/readers/sources.hpp"
#include "plexus/error.hpp"
#include "plexus/support/text.hpp"
#include "reader_util.hpp"

namespace plexus::core {
namespace {

using detail::data_fail;
using detail::fail_at;

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool is_missing(std::string_view cell) {
    const std::string c = lower(cell);
    return c.empty() || c == "na" || c == "n/a" || c == "nan" || c == "null";
}

// The columns a series reads, as the file holds them.
struct Table {
    std::vector<std::string> names;          // header
    std::vector<std::size_t> used;           // file columns read as numbers, features first
    std::vector<std::vector<float>> values;  // per used column, per row; NaN: missing
    std::vector<std::string> time;           // per row, the key column's text (or empty)
    std::vector<std::size_t> line;           // per row, its line in the file
    std::size_t time_column = std::string::npos;
};

// Feature columns, then target columns that are not features; `feature_of` and `target_of`
// map each option to its place in table.used.
void plan(const std::filesystem::path& path, const SeriesOptions& o, Table& t,
          std::vector<std::size_t>& feature_of, std::vector<std::size_t>& target_of) {
    const std::string file = path.string() + ": ";
    const auto slot = [&](std::size_t column) {
        const auto it = std::find(t.used.begin(), t.used.end(), column);
        if (it != t.used.end()) return static_cast<std::size_t>(it - t.used.begin());
        t.used.push_back(column);
        return t.used.size() - 1;
    };
    const std::vector<std::string>& features = o.columns.empty() ? o.targets : o.columns;
    for (const auto& c : features) {
        const std::size_t j = detail::resolve_column(path, o.columns.empty() ? "target" : "columns",
                                                     c, t.names, t.names.size(), true);
        if (std::find(t.used.begin(), t.used.end(), j) != t.used.end())
            throw ConfigError(file + "column " + support::quote_for_message(t.names[j]) +
                              " is listed twice in " +
                              (o.columns.empty() ? "target=" : "columns="));
        feature_of.push_back(slot(j));
    }
    for (const auto& c : o.targets) {
        const std::size_t j =
            detail::resolve_column(path, "target", c, t.names, t.names.size(), true);
        const std::size_t s = slot(j);
        if (std::find(target_of.begin(), target_of.end(), s) != target_of.end())
            throw ConfigError(file + "target column " + support::quote_for_message(t.names[j]) +
                              " is listed twice");
        target_of.push_back(s);
    }
    if (!o.time.empty()) {
        t.time_column = detail::resolve_column(path, "time", o.time, t.names, t.names.size(), true);
        return;
    }
    for (std::size_t j = 0; j < t.names.size() && t.time_column == std::string::npos; ++j) {
        const std::string n = lower(t.names[j]);
        const bool timelike =
            n.find("date") != std::string::npos || n.find("time") != std::string::npos;
        if (timelike && std::find(t.used.begin(), t.used.end(), j) == t.used.end())
            t.time_column = j;
    }
}

void read_table(const std::filesystem::path& path, const SeriesOptions& o, Table& t,
                std::vector<std::size_t>& feature_of, std::vector<std::size_t>& target_of) {
    const std::string text = detail::read_whole_file(path, detail::kMaxCsvBytes);
    detail::CsvParser parser(detail::strip_bom(text), o.delimiter, path);
    std::vector<std::string> cells;
    std::size_t line = 0;
    if (!parser.next(cells, line))
        data_fail(path, "empty file (expected a header line and time-ordered rows)");
    t.names = cells;
    plan(path, o, t, feature_of, target_of);
    t.values.resize(t.used.size());
    while (parser.next(cells, line)) {
        if (cells.size() != t.names.size())
            fail_at(path, line,
                    "expected " + std::to_string(t.names.size()) + " columns, found " +
                        std::to_string(cells.size()));
        for (std::size_t k = 0; k < t.used.size(); ++k) {
            const std::string& cell = cells[t.used[k]];
            float v = std::numeric_limits<float>::quiet_NaN();
            if (!is_missing(cell) && !detail::parse_float(cell, v))
                fail_at(path, line,
                        "column " + support::quote_for_message(t.names[t.used[k]]) +
                            " is not a number: " + support::quote_for_message(cell));
            t.values[k].push_back(v);
        }
        if (t.time_column != std::string::npos) t.time.push_back(cells[t.time_column]);
        t.line.push_back(line);
    }
    if (t.line.empty()) data_fail(path, "no data rows (found only the header line)");
}

// Fills interior gaps by linear interpolation; a gap at either end cannot be and is an error.
void fill_gaps(const std::filesystem::path& path, Table& t, std::vector<std::string>& warnings) {
    const std::size_t rows = t.line.size();
    for (std::size_t k = 0; k < t.used.size(); ++k) {
        std::vector<float>& v = t.values[k];
        const std::string name = "column " + support::quote_for_message(t.names[t.used[k]]);
        const auto known = [&](std::size_t r) { return !std::isnan(v[r]); };
        std::size_t first = 0;
        while (first < rows && !known(first)) ++first;
        if (first == rows) data_fail(path, name + " has no values");
        std::size_t last = rows - 1;
        while (!known(last)) --last;
        const auto gap = [&](std::size_t a, std::size_t b, const char* where) {
            const std::string lines =
                a == b ? "line " + std::to_string(t.line[a])
                       : "lines " + std::to_string(t.line[a]) + "-" + std::to_string(t.line[b]);
            data_fail(path, name + " has no value on " + lines + ", " + where +
                                " of the series; linear interpolation needs a value on both "
                                "sides (drop those rows or fill them in)");
        };
        if (first > 0) gap(0, first - 1, "at the start");
        if (last + 1 < rows) gap(last + 1, rows - 1, "at the end");
        std::size_t filled = 0;
        for (std::size_t a = first; a < last;) {
            std::size_t b = a + 1;
            while (!known(b)) ++b;
            for (std::size_t r = a + 1; r < b; ++r) {
                const double w = double(r - a) / double(b - a);
                v[r] = static_cast<float>(double(v[a]) + w * (double(v[b]) - double(v[a])));
                ++filled;
            }
            a = b;
        }
        if (filled > 0)
            warnings.push_back("warning: " + path.string() + ": filled " + std::to_string(filled) +
                               " missing value" + (filled == 1 ? "" : "s") + " in " + name +
                               " by linear interpolation between their neighbours");
    }
}

// Numeric time keys (e.g. 19580329) must not go back in time: a shuffled file would make
// every "chronological" split a random one.
void check_order(const std::filesystem::path& path, const Table& t) {
    if (t.time.empty()) return;
    std::vector<double> keys(t.time.size());
    for (std::size_t r = 0; r < t.time.size(); ++r) {
        const std::string& s = t.time[r];
        const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), keys[r]);
        if (s.empty() || ec != std::errc() || p != s.data() + s.size())
            return;  // dates as text: the user's word
    }
    for (std::size_t r = 1; r < keys.size(); ++r)
        if (keys[r] < keys[r - 1])
            fail_at(path, t.line[r],
                    "column " + support::quote_for_message(t.names[t.time_column]) +
                        " goes back in time (" + support::quote_for_message(t.time[r]) + " after " +
                        support::quote_for_message(t.time[r - 1]) + "); sort the rows by time");
}

}  // namespace

Dataset load_series(const std::filesystem::path& path, const SeriesOptions& o) {
    const std::string file = path.string() + ": ";
    if (o.targets.empty()) throw ConfigError(file + "a series needs target=NAME");
    for (const auto& [name, value] :
         {std::pair{"window", o.window}, std::pair{"horizon", o.horizon},
          std::pair{"stride", o.stride}})
        if (value < 1 || value > kMaxSeriesStep)
            throw ConfigError(file + name + "=" + std::to_string(value) +
                              " is out of range (1 to " + std::to_string(kMaxSeriesStep) + ")");
    Table t;
    std::vector<std::size_t> feature_of, target_of;
    Dataset ds;
    read_table(path, o, t, feature_of, target_of);
    fill_gaps(path, t, ds.warnings);
    check_order(path, t);

    const std::size_t rows = t.line.size(), w = o.window, h = o.horizon, s = o.stride;
    const std::size_t f = feature_of.size();
    if (rows < w + h)
        throw ConfigError(file + "window=" + std::to_string(w) + " + horizon=" + std::to_string(h) +
                          " needs at least " + std::to_string(w + h) + " rows, the series has " +
                          std::to_string(rows));
    const std::size_t n = (rows - w - h) / s + 1;
    std::size_t values = 0;
    if (!detail::checked_mul(n, w, values) || !detail::checked_mul(values, f, values) ||
        values > kMaxSeriesValues)
        data_fail(path, std::to_string(n) + " windows of " + std::to_string(w) + " x " +
                            std::to_string(f) + " values exceed the limit of " +
                            std::to_string(kMaxSeriesValues) +
                            " floats (1 GiB); use a larger stride= or a smaller window=");
    if (rows > std::numeric_limits<std::uint32_t>::max())
        data_fail(path, "too many rows (" + std::to_string(rows) + ")");

    ds.source = path.string();
    ds.count = n;
    ds.sample_shape = {w, f};
    ds.chronological = true;
    ds.target_width = target_of.size();
    for (std::size_t slot : target_of) {
        ds.target_names.push_back(t.names[t.used[slot]]);
        if (ds.target_names.back().size() > kMaxNameBytes)
            data_fail(path, "target column name " +
                                support::quote_for_message(ds.target_names.back(), 40) +
                                " is longer than " + std::to_string(kMaxNameBytes) + " bytes");
    }
    ds.key_name = t.time_column == std::string::npos ? "row" : t.names[t.time_column];
    try {
        ds.f32.resize(values);
        ds.targets.resize(n * ds.target_width);
        if (o.relative) ds.target_base.resize(n * ds.target_width);
        ds.last_value.resize(n * ds.target_width);
        ds.keys.resize(n);
        ds.spans.resize(n);
    } catch (const std::bad_alloc&) {
        data_fail(path, "out of memory for " + std::to_string(n) + " windows of " +
                            std::to_string(w) + " x " + std::to_string(f) + " values");
    }
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t first = i * s, last = first + w - 1, target = last + h;
        float* x = ds.f32.data() + i * w * f;
        for (std::size_t r = 0; r < w; ++r)
            for (std::size_t c = 0; c < f; ++c) {
                const std::vector<float>& col = t.values[feature_of[c]];
                x[r * f + c] = o.relative ? col[first + r] - col[last] : col[first + r];
            }
        for (std::size_t k = 0; k < ds.target_width; ++k) {
            const std::vector<float>& col = t.values[target_of[k]];
            const float base = o.relative ? col[last] : 0.0f;
            ds.targets[i * ds.target_width + k] = col[target] - base;
            if (o.relative) ds.target_base[i * ds.target_width + k] = base;
            ds.last_value[i * ds.target_width + k] = col[last];
        }
        ds.keys[i] = t.time.empty() ? std::to_string(target) : t.time[target];
        ds.spans[i] = {static_cast<std::uint32_t>(first), static_cast<std::uint32_t>(target)};
    }
    return ds;
}

}  // namespace plexus::core
