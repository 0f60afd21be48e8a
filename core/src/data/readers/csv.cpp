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

#include "csv_parser.hpp"
#include "plexus/core/data/readers/sources.hpp"
#include "plexus/error.hpp"
#include "plexus/support/text.hpp"
#include "reader_util.hpp"

namespace plexus::core {
namespace {

using detail::data_fail;
using detail::fail_at;
using detail::parse_float;

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

// Which columns are features, and which the label (classification) or the float targets.
struct Layout {
    std::vector<std::size_t> features, targets;
    std::size_t label = 0;  // meaningful when targets is empty
};

Layout plan_columns(const std::filesystem::path& path, const CsvOptions& options,
                    const std::vector<std::string>& names, std::size_t columns) {
    const std::string file = support::printable(path.string(), support::kMaxShownPathBytes) + ": ";
    if (!options.label.empty() && !options.targets.empty())
        throw ConfigError(file +
                          "label= and target= are both given (label= names the class column of "
                          "a classification set, target= the float columns of a regression set; "
                          "keep one)");
    const auto name = [&](std::size_t j) {
        return options.header ? support::quote_for_message(names[j]) : std::to_string(j);
    };
    Layout l;
    std::vector<bool> taken(columns, false);
    for (const std::string& t : options.targets) {
        const std::size_t j =
            detail::resolve_column(path, "target", t, names, columns, options.header);
        if (taken[j]) throw ConfigError(file + "target column " + name(j) + " is listed twice");
        taken[j] = true;
        l.targets.push_back(j);
    }
    if (l.targets.empty() && !options.no_label) {
        l.label = options.label.empty() ? columns - 1
                                        : detail::resolve_column(path, "label", options.label,
                                                                 names, columns, options.header);
        taken[l.label] = true;
    }
    const char* role = options.no_label        ? "nothing"
                       : l.targets.empty() ? "the label"
                                           : "a target";
    for (const std::string& c : options.columns) {
        const std::size_t j =
            detail::resolve_column(path, "columns", c, names, columns, options.header);
        if (std::find(l.features.begin(), l.features.end(), j) != l.features.end())
            throw ConfigError(file + "column " + name(j) + " is listed twice in columns=");
        if (taken[j])
            throw ConfigError(file + "column " + name(j) + " is both a feature (columns=) and " +
                              role + "; a model must not see what it predicts");
        l.features.push_back(j);
    }
    if (options.columns.empty())
        for (std::size_t j = 0; j < columns; ++j)
            if (!taken[j]) l.features.push_back(j);
    if (l.features.empty())
        throw ConfigError(file + "no feature column is left besides " + role + " (the file has " +
                          std::to_string(columns) + " columns)");
    return l;
}

}  // namespace

namespace detail {

std::size_t resolve_column(const std::filesystem::path& path, const std::string& key,
                           const std::string& s, const std::vector<std::string>& names,
                           std::size_t columns, bool header) {
    const std::string file = support::printable(path.string(), support::kMaxShownPathBytes) + ": ";
    if (header) {
        const auto it = std::find(names.begin(), names.end(), s);
        if (it != names.end()) return static_cast<std::size_t>(it - names.begin());
    }
    std::size_t index = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), index);
    if (!s.empty() && ec == std::errc() && p == s.data() + s.size()) {
        if (index < columns) return index;
        throw ConfigError(file + key + "=" + support::printable(s) +
                          " is out of range (the file has " + std::to_string(columns) +
                          " columns, numbered 0 to " + std::to_string(columns - 1) + ")");
    }
    if (!header)
        throw ConfigError(file + key + "=" + support::printable(s) +
                          " names a column, but header=false; give a 0-based column index");
    throw ConfigError(file + key + "=" + support::printable(s) + " names no column" +
                      support::did_you_mean(s, names) +
                      " (columns: " + support::join_for_message(names) + ")");
}

}  // namespace detail

namespace {

// Class ids when every label is one, else class names sorted into ids.
void set_labels(Dataset& ds, const std::filesystem::path& path, const std::string& column_name,
                std::vector<std::string>& label_text, const std::vector<std::size_t>& label_line,
                ClassOrigins* origins) {
    const auto at_line = [&](std::size_t l) { return path.string() + ":" + std::to_string(l); };
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
                "label " + support::quote_for_message(label_text[not_id]) + " in " + column_name +
                    " is a number but not a class id (expected integers >= 0 or class "
                    "names; is label= the right column? Float targets: target=NAME)");
    ClassOrigins where;
    ds.labels.resize(ds.count);
    if (all_ids) {
        const auto top = std::max_element(ids.begin(), ids.end());
        if (*top > kMaxClassId) {
            const auto i = static_cast<std::size_t>(top - ids.begin());
            fail_at(path, label_line[i],
                    "class id " + support::printable(label_text[i]) + " in " + column_name +
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
        for (std::size_t i = 0; i < ds.count; ++i) {
            if (label_text[i].size() > kMaxNameBytes)
                fail_at(path, label_line[i],
                        "label " + support::quote_for_message(label_text[i], 40) + " in " +
                            column_name + " is " + std::to_string(label_text[i].size()) +
                            " bytes long, a class name has at most " +
                            std::to_string(kMaxNameBytes) + " (is label= the right column?)");
            first.emplace(label_text[i], i);
        }
        if (first.size() > kMaxClassId + 1)
            data_fail(path, "too many distinct labels in " + column_name + " (" +
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
}

}  // namespace

Dataset load_csv(const std::filesystem::path& path, const CsvOptions& options,
                 ClassOrigins* origins) {
    const std::string text = detail::read_whole_file(path, detail::kMaxCsvBytes);
    const std::string expect = options.header ? "a header line and data rows" : "data rows";

    detail::CsvParser parser(detail::strip_bom(text), options.delimiter, path);
    std::vector<std::string> cells;
    std::size_t line = 0;
    if (!parser.next(cells, line)) data_fail(path, "empty file (expected " + expect + ")");
    const std::size_t columns = cells.size();
    CsvOptions chosen = options;
    // New data with exactly the model's feature columns has no label column to look for.
    if (options.unlabeled_columns != 0 && columns == options.unlabeled_columns &&
        options.label.empty() && options.columns.empty()) {
        chosen.no_label = true;
        chosen.targets.clear();
    }
    if (columns < (chosen.no_label ? 1u : 2u))
        fail_at(path, line,
                "found 1 column (expected at least one feature "
                "and a label; is delimiter= right?)");
    std::vector<std::string> names;
    if (options.header) names = cells;
    const Layout layout = plan_columns(path, chosen, names, columns);
    const bool regression = !layout.targets.empty();
    const bool unlabeled = chosen.no_label;
    const auto column = [&](std::size_t j) {
        return options.header ? "column " + support::quote_for_message(names[j])
                              : "column " + std::to_string(j);
    };

    Dataset ds;
    ds.source = path.string();
    ds.sample_shape = {layout.features.size()};
    std::vector<std::string> label_text;
    std::vector<std::size_t> label_line;
    bool have_record = !options.header;
    while (have_record || parser.next(cells, line)) {
        have_record = false;
        if (cells.size() != columns)
            fail_at(path, line,
                    "expected " + std::to_string(columns) + " columns, found " +
                        std::to_string(cells.size()));
        for (const std::size_t j : layout.features) {
            float v = 0;
            if (!parse_float(cells[j], v))
                fail_at(path, line,
                        column(j) + " is not a number: " + support::quote_for_message(cells[j]) +
                            (cells[j].empty() ? " (missing values are not supported)" : ""));
            ds.f32.push_back(v);
        }
        for (const std::size_t j : layout.targets) {
            float v = 0;
            if (!parse_float(cells[j], v))
                fail_at(path, line,
                        column(j) + " (a target) is not a finite number: " +
                            support::quote_for_message(cells[j]) +
                            (cells[j].empty() ? " (missing values are not supported)" : ""));
            ds.targets.push_back(v);
        }
        ++ds.count;
        if (regression || unlabeled) continue;
        if (cells[layout.label].empty())
            fail_at(path, line, column(layout.label) + " (the label) is empty");
        label_text.push_back(std::move(cells[layout.label]));
        label_line.push_back(line);
    }
    if (ds.count == 0)
        data_fail(path,
                  options.header ? "no data rows (found only the header line)" : "no data rows");
    if (regression) {
        ds.target_width = layout.targets.size();
        for (std::size_t k = 0; k < ds.target_width; ++k) {
            ds.target_names.push_back(options.header ? names[layout.targets[k]]
                                                     : "t" + std::to_string(k));
            if (ds.target_names.back().size() > kMaxNameBytes)
                data_fail(path, "target column name " +
                                    support::quote_for_message(ds.target_names.back(), 40) +
                                    " is longer than " + std::to_string(kMaxNameBytes) + " bytes");
        }
        if (origins) origins->clear();
        return ds;
    }
    if (unlabeled) {
        ds.unlabeled = true;
        if (origins) origins->clear();
        return ds;
    }
    set_labels(ds, path, column(layout.label), label_text, label_line, origins);
    return ds;
}

}  // namespace plexus::core
