// Where the registry looks for plugins, in order.
#pragma once

#include <filesystem>
#include <vector>

#include "plexus/core/registry/registry.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// The plugin folders `options` name, in search order: --plugin-path, PLEXUS_PLUGIN_PATH,
/// `<exe dir>/../lib/plexus/plugins`, and the build tree's plugin folder, the last only for
/// an executable inside that build tree (a test or tool) when the folder beside it is missing:
/// an installed plexus never loads a build tree's plugins.
/// Ensures: a relative PLEXUS_PLUGIN_PATH entry, which would name a different folder in every
/// working directory, is not searched but reported in `errors` with the fix.
std::vector<std::filesystem::path> plugin_search_path(const RegistryOptions& options,
                                                      std::vector<LoadError>& errors);

}  // namespace plexus::core

#pragma GCC visibility pop
