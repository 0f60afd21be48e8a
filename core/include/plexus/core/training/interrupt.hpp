// Ctrl-C during training: the first one asks the trainer to stop after the current batch
// (so the run folder is written), the second kills the process.
#pragma once

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// Set by the SIGINT handler; the trainer stops after the current batch when it is set.
void request_interrupt() noexcept;
bool interrupt_requested() noexcept;
/// Installs a SIGINT handler that calls request_interrupt() the first time and restores the
/// default action, so a second Ctrl-C kills the process.
void install_interrupt_handler();

}  // namespace plexus::core

#pragma GCC visibility pop
