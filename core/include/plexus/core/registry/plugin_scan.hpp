// Loading plugin candidates in a child process first (the GStreamer plugin-scanner idea): a
// file damaged so that dlopen itself faults (a wild relocation, a crashing constructor) kills
// the child, and the host refuses that file with one line instead of dying.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// A plugin file that passed the trust and manifest checks, with the lstat() taken then.
struct ScanCandidate {
    std::filesystem::path path;  // a real path (its folder canonical, the file no link)
    struct stat st {};
};

/// Where the verdict cache lives: $XDG_CACHE_HOME/plexus/plugin-scan (an absolute
/// XDG_CACHE_HOME only), else $HOME/.cache/plexus/plugin-scan; empty when neither is set.
std::filesystem::path plugin_scan_cache_file();

/// The text of a cache file, or empty when it is not a regular file of at most `max_bytes`
/// or cannot be read; never blocks (a FIFO planted at its name is refused, see
/// support::open_input_file).
std::string read_cache_text(const std::filesystem::path& file, std::size_t max_bytes);

/// Judges whether loading each candidate in this process is safe to try.
/// Requires: nothing of the files; no other thread of the process is loading libraries or
/// holding the allocator's locks (the registry is built before a program starts its own).
/// Candidates with a cached good verdict for the same (path, device, inode, size, mtime,
/// ctime) are not loaded again; the others are loaded one by one in a fork() of this process
/// (the same libraries in scope as here), a new fork after each that dies; a candidate taking
/// over 10 s is killed.
/// Ensures: one string per candidate, in order: empty when the fork loaded it without dying
/// (dlopen may still have refused it cleanly; the caller's own load reports that), else a
/// phrase following the file name ("crashed while loading (signal 11, SIGSEGV): ...").
/// New good verdicts are added to the cache atomically; a cache that cannot be read, parsed
/// or written is ignored. When no process can be forked, every uncached candidate is
/// refused. `debug` traces to stderr.
std::vector<std::string> vet_plugins(const std::vector<ScanCandidate>& candidates, bool debug);

/// The cache, exposed for its tests. `read` returns the good keys held in `file` (bounded:
/// 1 MiB, lines of 4096 bytes, malformed lines skipped); `key` is one candidate's key.
std::vector<std::string> read_plugin_scan_cache(const std::filesystem::path& file);
std::string plugin_scan_key(const ScanCandidate& candidate);
/// The file path a key ends with ("" when it has none): the numbers before it hold no '/'.
std::string plugin_scan_key_path(const std::string& key);
/// Rewrites `file` atomically with `old_keys` plus the keys of `good` (dropping older keys of
/// the same paths and keys of files that no longer exist; the newest 4096 kept). Creates the
/// folder. Failing to write is ignored: without a cache every start scans again.
void write_plugin_scan_cache(const std::filesystem::path& file,
                             const std::vector<std::string>& old_keys,
                             const std::vector<ScanCandidate>& good);

}  // namespace plexus::core

#pragma GCC visibility pop
