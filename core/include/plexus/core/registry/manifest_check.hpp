// The loaded manifest's pointers, checked before the registry follows any of them.
#pragma once

#include <string>

#include "plexus/plugin.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// Requires: `manifest` lies in a library loaded into this process.
/// Ensures: empty when every pointer of the manifest (components, their names, versions,
/// summaries, parameter tables and texts) points into that library's readable segments with
/// each text terminated there, and every factory into its executable ones; else what is
/// wrong, as a phrase that follows the file name. A corrupt plugin file whose relocations
/// send a pointer elsewhere is refused instead of crashing `plexus plugins NAME` later.
std::string manifest_pointer_problem(const Manifest& manifest);

}  // namespace plexus::core

#pragma GCC visibility pop
