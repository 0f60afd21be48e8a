// Output files are written atomically: a temporary file in the same folder, flushed, then
// renamed over the target, so a reader never sees half a file.
#pragma once

#include <filesystem>
#include <string>

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// Throws plexus::Error naming the path when the file cannot be written.
void write_file_atomic(const std::filesystem::path& path, const std::string& content);

/// Set by the SIGINT handler; the trainer stops after the current batch when it is set.
void request_interrupt() noexcept;
bool interrupt_requested() noexcept;
/// Installs a SIGINT handler that calls request_interrupt() the first time and restores the
/// default action, so a second Ctrl-C kills the process.
void install_interrupt_handler();

}  // namespace plexus::core

#pragma GCC visibility pop
