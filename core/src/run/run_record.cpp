#include "plexus/core/run/run_record.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include "plexus/core/reporting/diagnose.hpp"
#include "plexus/error.hpp"

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

std::string read_text(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw DataError(file.string() + ": cannot read (is this a run folder written by plexus train?)");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

RunRecord read_run(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw DataError(dir.string() + ": not a run folder (give runs/NAME-TIME)");
    RunRecord r;
    r.dir = dir;
    r.history = parse_history_csv(read_text(dir / "history.csv"), (dir / "history.csv").string());
    r.metrics = nlohmann::json::parse(read_text(dir / "metrics.json"), nullptr, false);
    if (r.metrics.is_discarded() || !r.metrics.is_object())
        throw DataError((dir / "metrics.json").string() + ": not a JSON object (the file is damaged)");
    r.experiment_text = read_text(dir / "experiment.ini");
    return r;
}

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
        std::string n = i < class_names.size() ? class_names[i] : std::to_string(i);
        return n.size() > 12 ? n.substr(0, 11) + "~" : n;
    };
    std::size_t name_w = std::string("true \\ predicted").size(), cell_w = 5;
    for (std::size_t i = 0; i < k; ++i) {
        name_w = std::max(name_w, label(i).size());
        cell_w = std::max(cell_w, label(i).size());
        for (double v : confusion[i]) cell_w = std::max(cell_w, std::to_string(std::llround(v)).size());
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

ReportData report_data(const RunRecord& run, const std::string& diagnosis_text) {
    ReportData d;
    d.title = run.dir.filename().string();
    if (d.title.empty()) d.title = run.dir.parent_path().filename().string();
    d.experiment_text = run.experiment_text;
    d.history = run.history;
    d.diagnosis_html_or_text = diagnosis_text;
    const auto& m = run.metrics;
    auto str = [&](const char* key) { return m.contains(key) && m[key].is_string() ? m[key].get<std::string>() : ""; };
    d.stop_reason = str("stop_reason");
    d.best_key = str("best_key");
    if (m.contains("best_epoch") && m["best_epoch"].is_number_unsigned()) d.best_epoch = m["best_epoch"].get<std::size_t>();
    // The main metric: the first history column after the losses that is not a val_ twin.
    for (std::size_t c = 1; c < d.history.columns.size(); ++c) {
        const auto& col = d.history.columns[c];
        if (col != "loss" && col != "reg_loss" && col.rfind("val_", 0) != 0 && col != "lr" && col != "seconds") {
            d.main_metric = col;
            break;
        }
    }
    if (m.contains("class_names") && m["class_names"].is_array())
        for (const auto& n : m["class_names"])
            if (n.is_string()) d.class_names.push_back(n.get<std::string>());
    if (m.contains("test") && m["test"].is_object()) {
        for (const auto& [k, v] : m["test"].items())
            if (v.is_number()) d.test_metrics.emplace_back(k, v.get<double>());
    }
    {
        const auto& cm = m.contains("confusion_matrix") ? m["confusion_matrix"] : nlohmann::json();
        if (cm.is_array())
            for (const auto& row : cm) {
                std::vector<double> r;
                if (row.is_array())
                    for (const auto& v : row)
                        if (v.is_number()) r.push_back(v.get<double>());
                d.confusion.push_back(std::move(r));
            }
        for (const auto& row : d.confusion)
            if (row.size() != d.confusion.size())
                throw DataError((run.dir / "metrics.json").string() + ": the confusion matrix is not square (the file is damaged)");
    }
    return d;
}

}  // namespace plexus::core
