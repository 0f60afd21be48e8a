// The sections report.html shows for a regression run instead of the confusion matrix and the
// per-class table: the regression report table and, per target, predicted against true values
// and the residuals (over time for a series, as a histogram otherwise).
#pragma once

#include <cstddef>
#include <string>

#include "plexus/core/reporting/regression.hpp"

namespace plexus::core {

/// Targets that get charts (the table lists them all).
constexpr std::size_t kRegressionChartTargets = 3;
/// Points a chart draws at most; a larger set is decimated evenly (svg::decimate).
constexpr std::size_t kRegressionChartPoints = 2000;

/// The "regression" and "predictions" sections; every piece of text escaped. requires: the
/// results pass check_regression_results.
std::string regression_sections(const RegressionResults& results);

}  // namespace plexus::core
