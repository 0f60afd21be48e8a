#include "plexus/core/reporting/summaries.hpp"

#include <algorithm>
#include <cmath>

#include "plexus/support/text.hpp"

namespace plexus::core {

std::vector<std::vector<double>> table_rows(const MetricTable& table) {
    std::vector<std::vector<double>> rows;
    const std::size_t cols = table.column_labels.size();
    if (cols == 0 || table.values.size() != table.row_labels.size() * cols) return rows;
    for (std::size_t r = 0; r < table.row_labels.size(); ++r)
        rows.emplace_back(table.values.begin() + r * cols, table.values.begin() + (r + 1) * cols);
    return rows;
}

nlohmann::json table_json(const MetricTable& table) {
    nlohmann::json j;
    j["columns"] = table.column_labels;
    const auto rows = table_rows(table);
    for (std::size_t r = 0; r < rows.size(); ++r) j["rows"][table.row_labels[r]] = rows[r];
    return j;
}

std::string confusion_matrix_text(const std::vector<std::vector<double>>& confusion,
                                  const std::vector<std::string>& class_names) {
    const std::size_t k = confusion.size();
    if (k == 0) return {};
    auto label = [&](std::size_t i) {
        // Class names come from data files: escaped before they reach a terminal.
        std::string n =
            i < class_names.size() ? support::printable(class_names[i], 24) : std::to_string(i);
        return n.size() > 12 ? n.substr(0, 11) + "~" : n;
    };
    std::size_t name_w = std::string("true \\ predicted").size(), cell_w = 5;
    for (std::size_t i = 0; i < k; ++i) {
        name_w = std::max(name_w, label(i).size());
        cell_w = std::max(cell_w, label(i).size());
        for (double v : confusion[i])
            cell_w = std::max(cell_w, std::to_string(std::llround(v)).size());
    }
    auto pad = [](const std::string& t, std::size_t w, bool right) {
        const std::string fill(w > t.size() ? w - t.size() : 0, ' ');
        return right ? fill + t : t + fill;
    };
    std::string out = "confusion matrix (rows: true class, columns: predicted class)\n";
    out += pad("true \\ predicted", name_w, false);
    for (std::size_t j = 0; j < k; ++j) out += " " + pad(label(j), cell_w, true);
    out += "\n";
    for (std::size_t i = 0; i < k; ++i) {
        out += pad(label(i), name_w, false);
        for (std::size_t j = 0; j < k && j < confusion[i].size(); ++j)
            out += " " + pad(std::to_string(std::llround(confusion[i][j])), cell_w, true);
        out += "\n";
    }
    return out;
}

std::string diagnosis_lines(const Diagnosis& diagnosis) {
    std::string out;
    for (const auto& f : diagnosis.findings) {
        out += finding_label(f.kind) + ": " + f.summary + "\n";
        for (const auto& e : f.evidence) out += "evidence: " + e + "\n";
        for (const auto& n : f.next_steps) out += "try: " + n + "\n";
    }
    for (const auto& n : diagnosis.notes) out += "note: " + n + "\n";
    return out.empty() ? diagnosis.headline : out;
}

}  // namespace plexus::core
