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
/// "{epoch}" by the 1-based epoch number (the number the progress line shows). Outputs stay
/// inside the run folder: a relative path starts there (relative to the working folder only
/// when the run writes no folder), and neither it nor "{run_dir}/..." may climb out with
/// ".."; only an absolute path ("/...") goes elsewhere, on purpose. Throws plexus::Error
/// naming `who` (the callback) for an unclosed '{', an unknown placeholder, "{epoch}" without
/// `epoch`, "{run_dir}" anywhere but at the start or in a run that writes no run folder, or a
/// path that climbs out of the run folder.
PLEXUS_API std::string expand_run_path(const std::string& who, const std::string& pattern,
                                       const TrainState& state, const std::size_t* epoch = nullptr);

}  // namespace plexus::support
