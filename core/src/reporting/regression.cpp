#include "plexus/core/reporting/regression.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>

#include "plexus/core/reporting/summaries.hpp"
#include "plexus/error.hpp"
#include "plexus/support/files.hpp"

namespace fs = std::filesystem;

namespace plexus::core {

void check_regression_results(const RegressionResults& r) {
    const auto fail = [](const std::string& what) { throw Error("regression results: " + what); };
    if (r.target_names.empty()) fail("no target names");
    if (r.key_name.empty()) fail("no key name (e.g. \"sample\" or \"date\")");
    for (const std::string& name : r.target_names)
        if (name.empty()) fail("a target name is empty");
    const std::size_t n = r.samples() * r.width();
    if (r.truth.size() != n || r.predicted.size() != n)
        fail(fmt::format("{} keys × {} targets need {} values each; truth has {}, predicted {}",
                         r.samples(), r.width(), n, r.truth.size(), r.predicted.size()));
}

namespace {

constexpr std::size_t kMaxFileBytes = std::size_t{1} << 30;
constexpr const char* kPredictedSuffix = "_predicted";
constexpr std::size_t kTextTargets = 20;  // an autoencoder has hundreds: a screen's worth

// A field as RFC 4180 wants it: quoted when it holds a separator, a quote, a line break or
// spaces at its ends (a reader may trim those).
std::string csv_field(const std::string& s) {
    const bool quote = s.find_first_of(",\"\r\n") != std::string::npos ||
                       (!s.empty() && (s.front() == ' ' || s.back() == ' ' || s.front() == '\t' ||
                                       s.back() == '\t'));
    if (!quote) return s;
    std::string out = "\"";
    for (const char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

struct Record {
    std::vector<std::string> cells;
    std::size_t line = 0;  // where the record starts
};

[[noreturn]] void fail_at(const fs::path& file, std::size_t line, const std::string& what) {
    throw DataError(file.string() + ":" + std::to_string(line) + ": " + what);
}

// RFC 4180 records (quoted fields may hold separators, quotes and line breaks); blank lines
// are skipped.
std::vector<Record> parse_records(const std::string& text, const fs::path& file) {
    std::vector<Record> records;
    std::size_t pos = 0, line = 1;
    while (pos < text.size()) {
        Record rec{{}, line};
        std::string cell;
        bool quoted_cell = false;
        for (;;) {
            if (pos < text.size() && text[pos] == '"' && cell.empty() && !quoted_cell) {
                quoted_cell = true;
                for (++pos;; ++pos) {
                    if (pos >= text.size())
                        fail_at(file, rec.line, "a quoted field is not closed (the file is cut)");
                    if (text[pos] == '\n') ++line;
                    if (text[pos] != '"') {
                        cell += text[pos];
                    } else if (pos + 1 < text.size() && text[pos + 1] == '"') {
                        cell += '"';
                        ++pos;
                    } else {
                        ++pos;
                        break;
                    }
                }
                if (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r')
                    fail_at(file, line, "text after a closing quote (write \"\" for a quote)");
            }
            if (pos >= text.size() || text[pos] == '\n' || text[pos] == '\r') {
                rec.cells.push_back(std::move(cell));
                if (pos < text.size() && text[pos] == '\r') ++pos;
                if (pos < text.size() && text[pos] == '\n') ++pos;
                ++line;
                break;
            }
            if (text[pos] == ',') {
                rec.cells.push_back(std::move(cell));
                cell.clear();
                quoted_cell = false;
            } else {
                cell += text[pos];
            }
            ++pos;
        }
        if (rec.cells.size() > 1 || !rec.cells.front().empty() || quoted_cell)
            records.push_back(std::move(rec));
    }
    return records;
}

std::string read_limited(const fs::path& file) {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec))
        throw DataError(file.string() + ": " +
                        (fs::exists(file, ec) ? "not a regular file" : "no such file") +
                        " (predictions of a regression run are written by plexus train)");
    const auto size = fs::file_size(file, ec);
    if (ec || size > kMaxFileBytes)
        throw DataError(file.string() + ": larger than 1 GiB, not a predictions file");
    std::ifstream in(file, std::ios::binary);
    if (!in) throw DataError(file.string() + ": cannot read (check its permissions)");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw DataError(file.string() + ": read error");
    return text;
}

// Parses the whole cell as a double; "nan" and "inf" are numbers too.
bool parse_number(const std::string& cell, double& v) {
    const char* end = cell.data() + cell.size();
    const auto [p, ec] = std::from_chars(cell.data(), end, v);
    return ec == std::errc() && p == end;
}

}  // namespace

void write_predictions_csv(const fs::path& file, const RegressionResults& r) {
    check_regression_results(r);
    std::string out = csv_field(r.key_name);
    for (const std::string& name : r.target_names)
        out += "," + csv_field(name) + "," + csv_field(name + kPredictedSuffix);
    out += "\n";
    const std::size_t k = r.width();
    for (std::size_t i = 0; i < r.samples(); ++i) {
        out += csv_field(r.keys[i]);
        for (std::size_t j = 0; j < k; ++j)
            out += fmt::format(",{},{}", r.truth[i * k + j], r.predicted[i * k + j]);
        out += "\n";
    }
    support::write_file_atomic(file, out);
}

RegressionResults read_predictions_csv(const fs::path& file) {
    const std::vector<Record> records = parse_records(read_limited(file), file);
    if (records.empty()) throw DataError(file.string() + ": empty (no header, no predictions)");
    const std::vector<std::string>& head = records.front().cells;
    const std::size_t header_line = records.front().line;
    if (head.size() < 3 || head.size() % 2 == 0)
        fail_at(file, header_line,
                "expected a header KEY,NAME,NAME_predicted[,NAME,NAME_predicted...], found " +
                    std::to_string(head.size()) + " columns");
    RegressionResults r;
    r.key_name = head[0];
    if (r.key_name.empty()) fail_at(file, header_line, "the key column has no name");
    for (std::size_t c = 1; c < head.size(); c += 2) {
        if (head[c].empty()) fail_at(file, header_line, "a target column has no name");
        if (head[c + 1] != head[c] + kPredictedSuffix)
            fail_at(file, header_line,
                    "column " + std::to_string(c + 2) + " is '" + head[c + 1] + "', expected '" +
                        head[c] + kPredictedSuffix + "'");
        r.target_names.push_back(head[c]);
    }
    if (records.size() < 2) fail_at(file, header_line, "a header but no predictions");
    const std::size_t k = r.width();
    r.keys.reserve(records.size() - 1);
    r.truth.reserve((records.size() - 1) * k);
    r.predicted.reserve((records.size() - 1) * k);
    for (std::size_t i = 1; i < records.size(); ++i) {
        const Record& rec = records[i];
        if (rec.cells.size() != head.size())
            fail_at(file, rec.line,
                    fmt::format("expected {} values, found {}", head.size(), rec.cells.size()));
        r.keys.push_back(rec.cells[0]);
        for (std::size_t j = 0; j < k; ++j) {
            double truth = 0.0, predicted = 0.0;
            const std::string &t = rec.cells[1 + 2 * j], &p = rec.cells[2 + 2 * j];
            if (!parse_number(t, truth) || !std::isfinite(truth))
                fail_at(file, rec.line,
                        "'" + t + "' under '" + r.target_names[j] + "' is not a finite number");
            if (!parse_number(p, predicted))
                fail_at(file, rec.line,
                        "'" + p + "' under '" + r.target_names[j] + kPredictedSuffix +
                            "' is not a number");
            r.truth.push_back(truth);
            r.predicted.push_back(predicted);
        }
    }
    return r;
}

namespace {

struct TargetErrors {
    double mae = 0, mse = 0, r2 = NAN, mape = 0;
};

TargetErrors target_errors(const RegressionResults& r, std::size_t j) {
    const std::size_t n = r.samples(), k = r.width();
    TargetErrors e;
    if (n == 0) return {NAN, NAN, NAN, NAN};
    double mean = 0.0;
    for (std::size_t i = 0; i < n; ++i) mean += r.truth[i * k + j];
    mean /= static_cast<double>(n);
    double ss_tot = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double t = r.truth[i * k + j], diff = t - r.predicted[i * k + j];
        e.mae += std::abs(diff);
        e.mse += diff * diff;
        e.mape += std::abs(diff) / std::max(std::abs(t), DBL_EPSILON);
        ss_tot += (t - mean) * (t - mean);
    }
    const double ss_res = e.mse;
    e.mae /= static_cast<double>(n);
    e.mse /= static_cast<double>(n);
    e.mape /= static_cast<double>(n);
    if (n >= 2) e.r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : (ss_res == 0 ? 1.0 : 0.0);
    return e;
}

}  // namespace

MetricTable regression_report(const RegressionResults& r) {
    check_regression_results(r);
    MetricTable t;
    t.name = "regression_report";
    t.row_title = "target";
    t.column_title = "metric";
    t.column_labels = {"mae", "mse", "rmse", "r2", "mape", "samples"};
    const std::size_t k = r.width(), cols = t.column_labels.size();
    const auto n = static_cast<double>(r.samples());
    std::vector<double> sum(cols, 0.0);
    for (std::size_t j = 0; j < k; ++j) {
        const TargetErrors e = target_errors(r, j);
        const double row[] = {e.mae, e.mse, std::sqrt(e.mse), e.r2, e.mape, n};
        t.row_labels.push_back(r.target_names[j]);
        t.values.insert(t.values.end(), std::begin(row), std::end(row));
        for (std::size_t c = 0; c < cols; ++c) sum[c] += row[c] / static_cast<double>(k);
    }
    if (k > 1) {
        sum.back() = n;
        t.row_labels.push_back("all");
        t.values.insert(t.values.end(), sum.begin(), sum.end());
    }
    return t;
}

std::string regression_report_text(const RegressionResults& r, int digits) {
    const MetricTable t = regression_report(r);
    const std::size_t cols = t.column_labels.size();
    std::size_t label_w = t.row_title.size();
    for (std::size_t row = 0; row < t.row_labels.size(); ++row)
        if (row < kTextTargets || row >= r.width())
            label_w = std::max(label_w, t.row_labels[row].size());
    const auto line = [&](const std::string& label, const std::vector<std::string>& cells) {
        std::string s = fmt::format("{:<{}} ", label, label_w);
        for (const std::string& c : cells) s += fmt::format(" {:>{}}", c, digits + 7);
        return s + "\n";
    };
    std::string s = fmt::format("regression report ({} set, {} sample{})\n", r.set_name,
                                r.samples(), r.samples() == 1 ? "" : "s");
    s += line(t.row_title, t.column_labels);
    const std::size_t k = r.width();
    for (std::size_t row = 0; row < t.row_labels.size(); ++row) {
        if (k > kTextTargets && row >= kTextTargets && row < k) {
            if (row == kTextTargets)
                s += fmt::format("... {} more targets (metrics.json lists them all)\n",
                                 k - kTextTargets);
            continue;
        }
        std::vector<std::string> cells;
        for (std::size_t c = 0; c < cols; ++c) {
            const double v = t.values[row * cols + c];
            cells.push_back(!std::isfinite(v)    ? std::string("n/a")
                            : c + 1 == cols      ? fmt::format("{:.0f}", v)
                            : std::abs(v) >= 1e7 ? fmt::format("{:.{}g}", v, digits)
                                                 : fmt::format("{:.{}f}", v, digits));
        }
        s += line(t.row_labels[row], cells);
    }
    return s;
}

nlohmann::json regression_json(const RegressionResults& r) {
    return {{"task", "regression"},
            {"targets", r.target_names},
            {"regression_set", r.set_name},
            {"time_ordered", r.time_ordered},
            {"regression_report", table_json(regression_report(r))}};
}

}  // namespace plexus::core
