// Helpers shared by the CSV, .npy and image-folder readers (private to the core).
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "plexus/error.hpp"
#include "plexus/support/checked.hpp"
#include "plexus/support/input_file.hpp"
#include "plexus/support/text.hpp"

namespace plexus::core::detail {

[[noreturn]] inline void data_fail(const std::filesystem::path& path, const std::string& what) {
    throw DataError(support::printable(path.string(), support::kMaxShownPathBytes) + ": " + what);
}

using support::checked_mul;

/// Asks for 2 MiB pages over the whole 2 MiB blocks inside [p, p + n) (transparent huge pages
/// in madvise mode, Debian's default): a 47 MB dataset otherwise faults in 11,500 4 KiB pages,
/// each one expensive in a virtual machine. Advice only: nothing changes where it is refused.
inline void advise_huge_pages(void* p, std::size_t n) {
#ifdef MADV_HUGEPAGE
    constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t begin = (at + kHuge - 1) & ~(kHuge - 1), end = (at + n) & ~(kHuge - 1);
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

/// The whole content of a regular file; DataError "PATH: ..." when it is missing, a folder, a
/// FIFO or device, unreadable or larger than max_bytes (checked before anything is read).
inline std::string read_whole_file(const std::filesystem::path& path, std::size_t max_bytes) {
    return support::read_input_file(path, max_bytes);
}

}  // namespace plexus::core::detail
