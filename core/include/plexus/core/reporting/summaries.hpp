// A run's results as text and JSON: the metric tables of metrics.json, the confusion matrix
// for the terminal and the diagnosis as the report lists it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plexus/core/reporting/diagnose.hpp"
#include "plexus/metric.hpp"

#pragma GCC visibility push(default)

namespace plexus::core {

/// A metric table's values as rows.
std::vector<std::vector<double>> table_rows(const MetricTable& table);
/// A metric table as JSON: {"columns": [...], "rows": {label: [values]}}.
nlohmann::json table_json(const MetricTable& table);
/// The confusion matrix as labelled plain text for the terminal (rows true classes, columns
/// predicted classes; class names shortened to fit).
std::string confusion_matrix_text(const std::vector<std::vector<double>>& confusion,
                                  const std::vector<std::string>& class_names);
/// The diagnosis as the report shows it: one line per finding, evidence and step.
std::string diagnosis_lines(const Diagnosis& diagnosis);

}  // namespace plexus::core

#pragma GCC visibility pop
