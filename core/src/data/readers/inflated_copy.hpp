// Inflated copies of gzip data files, kept in the cache folder (registry/cache_folder.hpp) so
// that a data set is inflated once, not at every run, as torchvision keeps the raw files of
// the data sets it downloads. A run with Fashion-MNIST's 26 MB of gzip spent about 0.2 s
// inflating them before its first step; reading the 47 MB copy takes a few milliseconds.
// Only a copy that reads back complete and valid is used (the reader checks it exactly as
// the original); anything wrong with it and the source is read again. PLEXUS_DATA_CACHE=0
// turns the copies off.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string_view>

namespace plexus::core::detail {

/// Copies of less inflated data are not kept: inflating them costs next to nothing.
inline constexpr std::size_t kMinInflatedCopyBytes = std::size_t{1} << 20;

/// Where the inflated copy of `source` is or would be kept, or empty when none is: the name
/// does not end in ".gz", PLEXUS_DATA_CACHE=0, no cache folder, or `source` is not a regular
/// file. The copy's name joins a hash of the source's absolute path and one of its size,
/// modification time, inode and device: a changed file gets a new name.
std::filesystem::path inflated_copy(const std::filesystem::path& source);

/// Writes the copy (atomically, the pieces one after the other) and removes the copies of
/// earlier versions of the same source. Best effort: a full disk or a read-only cache folder
/// costs the next run the inflating, nothing else.
void keep_inflated_copy(const std::filesystem::path& copy,
                        std::span<const std::string_view> pieces) noexcept;

/// Removes a copy that could not be read back.
void drop_inflated_copy(const std::filesystem::path& copy) noexcept;

}  // namespace plexus::core::detail
