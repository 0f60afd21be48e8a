// Writing output files so that a reader never sees half a file: the content goes to a
// temporary file in the same folder, is flushed to disk, then renamed over the target.
// Every file in a run folder is written this way; plugins that write files should be too.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "plexus/export.hpp"

namespace plexus::support {

/// Replaces `path` with `content` atomically. Requires: the parent folder exists (see
/// create_parent_folder). Ensures: `path` holds either its old content or all of `content`,
/// and no temporary file is left behind (the content is written unnamed, O_TMPFILE, and named
/// ".NAME.tmpPID" only between its last sync and the rename). Throws plexus::Error naming the path
/// when something other than a regular file is there (a folder, a device such as /dev/full,
/// a FIFO, a symbolic link: outputs never replace those), the folder is not writable, the
/// disk is full or the rename fails.
PLEXUS_API void write_file_atomic(const std::filesystem::path& path, const std::string& content);
/// The same for content in pieces, written one after the other (a header and a large buffer
/// that need not be copied into one string first).
PLEXUS_API void write_file_atomic(const std::filesystem::path& path,
                                  std::span<const std::string_view> pieces);

/// Creates the folder that `path` will be written into (and its parents), so a parameter
/// such as path=checkpoints/best works. Nothing to do for a bare file name. Throws
/// plexus::Error naming `who` (the component) and the folder when it cannot be created.
PLEXUS_API void create_parent_folder(const std::string& who, const std::filesystem::path& path);

}  // namespace plexus::support
