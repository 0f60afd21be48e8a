// Plexus's cache folder, for what can be rebuilt at any time: the plugin scan's verdicts and
// catalog, the inflated copies of gzip data files. Deleting it costs the next run the work.
#pragma once

#include <filesystem>

#pragma GCC visibility push(default)

namespace plexus::core {

/// $XDG_CACHE_HOME/plexus (an absolute XDG_CACHE_HOME only), else $HOME/.cache/plexus; empty
/// when neither is set.
std::filesystem::path cache_folder();

}  // namespace plexus::core

#pragma GCC visibility pop
