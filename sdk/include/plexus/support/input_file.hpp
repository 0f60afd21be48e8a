// Opening files that come from users (data sets, model files, experiment files) without
// trusting them: only a regular file is read, so a FIFO, a terminal or /dev/zero given as a
// data path fails at once instead of blocking or streaming forever, and its size is checked
// against the format's bound before a byte is read or allocated.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "plexus/export.hpp"

namespace plexus::support {

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

/// An open regular file and its size when it was opened.
struct InputFile {
    std::unique_ptr<std::FILE, FileCloser> stream;
    std::uint64_t size = 0;
};

/// Opens `path` for reading. Requires nothing of the path. Ensures: the returned stream reads a
/// regular file of `size` <= max_bytes bytes, positioned at its start; the open itself never
/// blocks (O_NONBLOCK, then checked with fstat, so a FIFO swapped in after the check is caught
/// too). Throws plexus::DataError "PATH: cannot open (...)" naming what the path is instead —
/// no such file, a directory, a FIFO, a character or block device, a socket — or the system's
/// reason, and "PATH: file too large (N bytes, at most M)" past `max_bytes`.
PLEXUS_API InputFile open_input_file(const std::filesystem::path& path, std::uint64_t max_bytes);

/// The whole content of open_input_file(path, max_bytes). Throws plexus::DataError naming the
/// path on a read error or when the file's length changes while it is read.
PLEXUS_API std::string read_input_file(const std::filesystem::path& path, std::uint64_t max_bytes);

}  // namespace plexus::support
