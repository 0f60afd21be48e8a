#include "plexus/core/training/history.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <sstream>

#include "plexus/error.hpp"

namespace plexus::core {
namespace {

std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> out;
    std::size_t begin = 0;
    for (;;) {
        const auto comma = line.find(',', begin);
        out.push_back(line.substr(begin, comma - begin));
        if (comma == std::string::npos) return out;
        begin = comma + 1;
    }
}

}  // namespace

std::string History::to_csv() const {
    std::string out;
    for (std::size_t i = 0; i < columns.size(); ++i) out += (i ? "," : "") + columns[i];
    out += "\n";
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < row.size(); ++i)
            out += i == 0 ? fmt::format("{:.0f}", row[i]) : fmt::format(",{:.6g}", row[i]);
        out += "\n";
    }
    return out;
}

History parse_history_csv(const std::string& text, const std::string& name) {
    History h;
    std::istringstream in(text);
    std::string line;
    std::size_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        auto cells = split(line);
        if (h.columns.empty()) {
            h.columns = std::move(cells);
            if (h.columns.front() != "epoch")
                throw DataError(name + ":" + std::to_string(line_no) +
                                ": expected a header starting with 'epoch'");
            continue;
        }
        if (cells.size() != h.columns.size())
            throw DataError(name + ":" + std::to_string(line_no) + ": expected " +
                            std::to_string(h.columns.size()) + " values, found " +
                            std::to_string(cells.size()));
        std::vector<double> row;
        for (const auto& c : cells) {
            double v = 0;
            if (c == "nan" || c == "-nan") {
                v = std::nan("");
            } else {
                auto [p, ec] = std::from_chars(c.data(), c.data() + c.size(), v);
                if (ec != std::errc() || p != c.data() + c.size())
                    throw DataError(name + ":" + std::to_string(line_no) + ": '" + c +
                                    "' is not a number");
            }
            row.push_back(v);
        }
        h.rows.push_back(std::move(row));
    }
    if (h.columns.empty()) throw DataError(name + ": empty history (did the run finish an epoch?)");
    return h;
}

}  // namespace plexus::core
