// Helpers shared by the CSV, .npy and image-folder readers (private to the core).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "plexus/core/data/huge_pages.hpp"
#include "plexus/error.hpp"
#include "plexus/support/checked.hpp"
#include "plexus/support/input_file.hpp"
#include "plexus/support/text.hpp"

namespace plexus::core::detail {

[[noreturn]] inline void data_fail(const std::filesystem::path& path, const std::string& what) {
    throw DataError(support::printable(path.string(), support::kMaxShownPathBytes) + ": " + what);
}

using support::checked_mul;

/// The whole content of a regular file; DataError "PATH: ..." when it is missing, a folder, a
/// FIFO or device, unreadable or larger than max_bytes (checked before anything is read).
inline std::string read_whole_file(const std::filesystem::path& path, std::size_t max_bytes) {
    return support::read_input_file(path, max_bytes);
}

}  // namespace plexus::core::detail
