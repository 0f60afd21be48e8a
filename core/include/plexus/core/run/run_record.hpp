// A finished run read back from its folder (history.csv, metrics.json, experiment.ini, and a
// regression run's test_predictions.csv), for the commands that look at a run after training:
// diagnose and report.
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

/// What the report shows for a run, from its record and the diagnosis text. A run folder with
/// test_predictions.csv is a regression run: the report gets its RegressionResults (with
/// metrics.json's "time_ordered" and "regression_set", see regression_json), so write that
/// file before calling this. Throws DataError naming the file when it is damaged.
ReportData report_data(const RunRecord& run, const std::string& diagnosis_text);

}  // namespace plexus::core

#pragma GCC visibility pop
