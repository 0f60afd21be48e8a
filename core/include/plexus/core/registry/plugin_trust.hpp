// Which plugin folders and files the registry trusts enough to load code from.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <string_view>

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// OpenSSH's StrictModes for plugin folders: `folder` and every folder above it must be owned
/// by root or the effective user; `folder` itself must be writable by neither its group nor
/// others (the sticky bit does not help: anyone may still add a file), while a folder above
/// it may be if it is sticky (like /tmp), because then nobody else can rename what lies in it.
/// Requires: `folder` absolute and canonical (no symbolic links, so the walk checks the real
/// folders and a link cannot be swapped after the check).
/// Ensures: empty, or one line naming the folder at fault, what is wrong and the fix (chmod,
/// chown, or --allow-insecure-plugins).
std::string folder_trust_problem(const std::filesystem::path& folder);

/// The same for a plugin file with status `st` (from lstat): owned by root or the effective
/// user and writable by neither group nor others. Ensures: empty, or a phrase that follows
/// the file name ("writable by others; refusing …").
std::string file_trust_problem(const std::filesystem::path& file, const struct stat& st);

/// `text` as one shell word, for the fix in a message: plain when it is safe, else
/// single-quoted, or $'…' with \xHH escapes when it holds control bytes (a newline would
/// otherwise break a one-line message).
std::string shell_word(std::string_view text);

}  // namespace plexus::core

#pragma GCC visibility pop
