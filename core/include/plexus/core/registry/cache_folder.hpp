// Plexus's cache folder, for what can be rebuilt at any time: the plugin scan's verdicts and
// catalog, the inflated copies of gzip data files. Deleting it costs the next run the work.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#pragma GCC visibility push(default)

namespace plexus::core {

/// $XDG_CACHE_HOME/plexus (an absolute XDG_CACHE_HOME only), else $HOME/.cache/plexus; empty
/// when neither is set.
std::filesystem::path cache_folder();

/// FNV-1a of `text`: stable across builds, so the cache's file names made from it (a data
/// file's path, a plugin folder's) survive an upgrade of Plexus.
std::uint64_t cache_name_hash(std::string_view text);

}  // namespace plexus::core

#pragma GCC visibility pop
