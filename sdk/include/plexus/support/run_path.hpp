// Output paths of callbacks that write files (model_checkpoint, csv_logger): a `path`
// parameter may hold "{run_dir}" (the run folder) and, per epoch, "{epoch}", resolved the
// same way for every callback.
#pragma once

#include <cstddef>
#include <string>

#include "plexus/callback.hpp"
#include "plexus/export.hpp"

namespace plexus::support {

/// `pattern` with "{run_dir}" replaced by state.run_dir and, when `epoch` is given,
/// "{epoch}" by the 1-based epoch number (the number the progress line shows). Throws
/// plexus::Error naming `who` (the callback) for an unclosed '{', an unknown placeholder,
/// "{epoch}" without `epoch`, or "{run_dir}" in a run that writes no run folder.
PLEXUS_API std::string expand_run_path(const std::string& who, const std::string& pattern,
                                       const TrainState& state, const std::size_t* epoch = nullptr);

}  // namespace plexus::support
