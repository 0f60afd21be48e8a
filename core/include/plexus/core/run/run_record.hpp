// A finished run read back from its folder (history.csv, metrics.json, experiment.ini), for
// the commands that look at a run after training: diagnose and report.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "plexus/core/reporting/report.hpp"
#include "plexus/core/training/history.hpp"

#pragma GCC visibility push(default)

namespace plexus::core {

struct RunRecord {
    std::filesystem::path dir;
    std::string experiment_text;  // experiment.ini
    History history;              // history.csv
    nlohmann::json metrics;       // metrics.json (an object)
};

/// Reads a run folder. Throws DataError naming the file that is missing or damaged.
RunRecord read_run(const std::filesystem::path& dir);

/// A metric table's values as rows.
std::vector<std::vector<double>> table_rows(const MetricTable& table);
/// A metric table as JSON: {"columns": [...], "rows": {label: [values]}}.
nlohmann::json table_json(const MetricTable& table);
/// The confusion matrix as labelled plain text for the terminal (rows true classes, columns
/// predicted classes; class names shortened to fit).
std::string confusion_matrix_text(const std::vector<std::vector<double>>& confusion,
                                  const std::vector<std::string>& class_names);
/// The diagnosis as the report shows it: one line per finding, evidence and step.
std::string diagnosis_lines(const struct Diagnosis& diagnosis);

/// What the report shows for a run, from its record and the diagnosis text.
ReportData report_data(const RunRecord& run, const std::string& diagnosis_text);

}  // namespace plexus::core

#pragma GCC visibility pop
