// A run's learning curves: one row per epoch, as history.csv holds them.
#pragma once

#include <string>
#include <vector>

#pragma GCC visibility push(default)

namespace plexus::core {

struct History {
    std::vector<std::string> columns;  // "epoch", "loss", "accuracy", "val_loss", ...
    std::vector<std::vector<double>> rows;
    /// CSV text with a header row: the epoch as an integer, every other value with six
    /// significant digits (printf's %.6g).
    std::string to_csv() const;
};

/// Parses history.csv text (a header row, then numbers; "nan" for a missing value). Throws
/// DataError "NAME:LINE: ..." for a malformed row.
History parse_history_csv(const std::string& text, const std::string& name);

}  // namespace plexus::core

#pragma GCC visibility pop
