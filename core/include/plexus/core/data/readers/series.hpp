// series: sources — a time-ordered CSV cut into sliding windows for forecasting.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "plexus/core/data/dataset.hpp"

#pragma GCC visibility push(default)

namespace plexus::core {

/// Most float values the windows of one series may hold (1 GiB of float32): overlapping
/// windows copy each row W times, so a long series with a wide window is refused, not
/// allocated.
inline constexpr std::size_t kMaxSeriesValues = std::size_t{1} << 28;

/// Largest window=, horizon= or stride= accepted at all (each is also checked against the
/// series' length).
inline constexpr std::size_t kMaxSeriesStep = std::size_t{1} << 24;

struct SeriesOptions {
    std::vector<std::string> columns;  // feature columns (names or indices); empty: the targets
    std::vector<std::string> targets;  // target columns; required
    std::size_t window = 0;            // rows per window; required, >= 1
    std::size_t horizon = 1;           // the target row is this many rows after the window
    std::size_t stride = 1;            // rows between the starts of consecutive windows
    bool relative = false;             // windows and targets relative to the window's last row
    std::string time;                  // key column; empty: a date/time-like column, else none
    char delimiter = ',';
};

/// Reads a time-ordered CSV with a header (same syntax as csv:) and cuts it into windows.
/// Requires: options.targets non-empty, window, horizon and stride in [1, kMaxSeriesStep].
/// Ensures, for R rows, W = window, H = horizon, S = stride and F = columns.size() features:
///  - count = (R - W - H) / S + 1 windows; window i reads rows i*S .. i*S+W-1 (sample_shape
///    [W, F], row-major, features in the order of `columns`) and its targets are the target
///    columns at row i*S+W-1+H; spans[i] = {i*S, i*S+W-1+H}; chronological = true.
///  - relative: each window value minus its column's value in the window's last row, each
///    target minus the target column's value in that row, which target_base holds.
///  - keys: the time column's text at the target row (key_name its name); without a time
///    column (none given, no unused column named like "date" or "time"), the target row's
///    0-based index (key_name "row").
///  - Missing cells (empty, NA, N/A, nan, null) inside a column are filled by linear
///    interpolation between their neighbours, and warnings gets one line per column saying
///    how many were filled; a gap at the start or the end of a column is a DataError naming
///    the column and lines.
/// Throws ConfigError "PATH: ..." for an option that names no column (with did-you-mean) or
/// a series too short for one window, and DataError "PATH[:LINE]: ..." for bad content: a
/// cell that is no number, numeric time keys out of order, or windows that would exceed
/// kMaxSeriesValues.
Dataset load_series(const std::filesystem::path& path, const SeriesOptions& options);

}  // namespace plexus::core

#pragma GCC visibility pop
