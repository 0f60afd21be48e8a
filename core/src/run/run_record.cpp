#include "plexus/core/run/run_record.hpp"

#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>

#include "plexus/core/modelfile/safetensors.hpp"
#include "plexus/core/reporting/regression.hpp"
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

namespace {

/// The layer index of a parameter called "layer<i>.kernel" (or "<i>.kernel"); -1 otherwise.
long kernel_layer(const std::string& name) {
    const std::string suffix = ".kernel";
    const std::size_t from = name.rfind("layer", 0) == 0 ? 5 : 0;
    if (name.size() <= from + suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
        return -1;
    const std::string digits = name.substr(from, name.size() - suffix.size() - from);
    if (digits.empty() || digits.size() > 6 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
        return -1;
    return std::stol(digits);
}

/// The kernel of the first convolution (the rank-4 "<i>.kernel" of the smallest i) in the run's
/// model.safetensors; empty when there is none. A missing or damaged model file only costs the
/// report its filter pictures: the rest of the run is still worth reporting.
HostTensor first_conv_kernel(const std::filesystem::path& dir) {
    std::error_code ec;
    const auto file = dir / "model.safetensors";
    if (!std::filesystem::is_regular_file(file, ec)) return {};
    SafetensorsFile model;
    try {
        model = read_safetensors(file);
    } catch (const Error&) {
        return {};
    }
    HostTensor* first = nullptr;
    long first_layer = 0;
    for (auto& t : model.tensors) {
        const long layer = kernel_layer(t.name);
        if (layer >= 0 && t.shape.rank() == 4 && (!first || layer < first_layer)) {
            first = &t;
            first_layer = layer;
        }
    }
    return first ? std::move(*first) : HostTensor{};
}

/// A regression run's test_predictions.csv with what metrics.json says about it; none when
/// the run has no such file. A damaged file throws: the report would silently lose its main
/// section otherwise.
std::optional<RegressionResults> regression_results(const RunRecord& run) {
    const fs::path file = run.dir / "test_predictions.csv";
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(file, ec))) return std::nullopt;
    RegressionResults r = read_predictions_csv(file);
    const auto& m = run.metrics;
    if (m.contains("time_ordered") && m["time_ordered"].is_boolean())
        r.time_ordered = m["time_ordered"].get<bool>();
    if (m.contains("regression_set") && m["regression_set"].is_string())
        r.set_name = m["regression_set"].get<std::string>();
    return r;
}

}  // namespace

ReportData report_data(const RunRecord& run, const std::string& diagnosis_text) {
    ReportData d;
    d.title = run.dir.filename().string();
    if (d.title.empty()) d.title = run.dir.parent_path().filename().string();
    d.experiment_text = run.experiment_text;
    d.history = run.history;
    d.diagnosis_html_or_text = diagnosis_text;
    d.first_conv_kernel = first_conv_kernel(run.dir);
    d.regression = regression_results(run);
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
