#include "plexus/core/run/run_record.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include "plexus/error.hpp"

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

std::string read_text(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw DataError(file.string() +
                        ": cannot read (is this a run folder written by plexus train?)");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

RunRecord read_run(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw DataError(dir.string() + ": not a run folder (give runs/NAME-TIME)");
    RunRecord r;
    r.dir = dir;
    r.history = parse_history_csv(read_text(dir / "history.csv"), (dir / "history.csv").string());
    r.metrics = nlohmann::json::parse(read_text(dir / "metrics.json"), nullptr, false);
    if (r.metrics.is_discarded() || !r.metrics.is_object())
        throw DataError((dir / "metrics.json").string() +
                        ": not a JSON object (the file is damaged)");
    r.experiment_text = read_text(dir / "experiment.ini");
    return r;
}

ReportData report_data(const RunRecord& run, const std::string& diagnosis_text) {
    ReportData d;
    d.title = run.dir.filename().string();
    if (d.title.empty()) d.title = run.dir.parent_path().filename().string();
    d.experiment_text = run.experiment_text;
    d.history = run.history;
    d.diagnosis_html_or_text = diagnosis_text;
    const auto& m = run.metrics;
    auto str = [&](const char* key) {
        return m.contains(key) && m[key].is_string() ? m[key].get<std::string>() : "";
    };
    d.stop_reason = str("stop_reason");
    d.best_key = str("best_key");
    if (m.contains("best_epoch") && m["best_epoch"].is_number_unsigned())
        d.best_epoch = m["best_epoch"].get<std::size_t>();
    // The main metric: the first history column after the losses that is not a val_ twin.
    for (std::size_t c = 1; c < d.history.columns.size(); ++c) {
        const auto& col = d.history.columns[c];
        if (col != "loss" && col != "reg_loss" && col.rfind("val_", 0) != 0 && col != "lr" &&
            col != "seconds") {
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
                throw DataError((run.dir / "metrics.json").string() +
                                ": the confusion matrix is not square (the file is damaged)");
    }
    return d;
}

}  // namespace plexus::core
