// Helpers shared by the CSV, .npy and image-folder readers (private to the core).
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <new>
#include <string>
#include <system_error>

#include "plexus/error.hpp"

namespace plexus::core::detail {

[[noreturn]] inline void data_fail(const std::filesystem::path& path, const std::string& what) {
    throw DataError(path.string() + ": " + what);
}

/// a * b, or false when it does not fit in a size_t.
inline bool checked_mul(std::size_t a, std::size_t b, std::size_t& out) {
    if (a != 0 && b > std::numeric_limits<std::size_t>::max() / a) return false;
    out = a * b;
    return true;
}

/// The whole content of a regular file; DataError "PATH: ..." when it is missing, a folder,
/// unreadable or larger than max_bytes.
inline std::string read_whole_file(const std::filesystem::path& path, std::size_t max_bytes) {
    std::error_code ec;
    const auto st = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(st)) data_fail(path, "cannot open (no such file)");
    if (std::filesystem::is_directory(st))
        data_fail(path, "cannot open (expected a file, found a directory)");
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) data_fail(path, "cannot open (" + std::generic_category().message(errno) + ")");
    std::string out;
    char buf[1 << 16];
    try {
        const auto size = std::filesystem::file_size(path, ec);
        if (!ec && size <= max_bytes) out.reserve(static_cast<std::size_t>(size));
        for (;;) {
            const std::size_t n = std::fread(buf, 1, sizeof buf, f);
            if (out.size() + n > max_bytes) {
                std::fclose(f);
                data_fail(path, "file too large (at most " + std::to_string(max_bytes) +
                                    " bytes are read)");
            }
            out.append(buf, n);
            if (n < sizeof buf) break;
        }
    } catch (const std::bad_alloc&) {
        std::fclose(f);
        data_fail(path, "out of memory while reading the file");
    }
    const bool bad = std::ferror(f) != 0;
    std::fclose(f);
    if (bad) data_fail(path, "read error");
    return out;
}

}  // namespace plexus::core::detail
