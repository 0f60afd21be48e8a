// Ctrl-C (SIGINT) and SIGTERM during training: the first one asks the trainer to stop at the
// next step boundary, so the run folder is completed (model, metrics.json, report); a second
// one, of either signal, kills the process.
#pragma once

#include <csignal>

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// Asks the trainer to stop after the current step, as `signal` (SIGINT or SIGTERM) does.
void request_interrupt(int signal = SIGINT) noexcept;
/// Whether a stop was asked for since the process began.
bool interrupt_requested() noexcept;
/// The signal that asked to stop first (SIGINT or SIGTERM); 0 when none did.
int interrupt_signal() noexcept;
/// Installs a handler for SIGINT and SIGTERM that calls request_interrupt() the first time
/// and restores the default action of both, so a second signal kills the process.
void install_interrupt_handler();

}  // namespace plexus::core

#pragma GCC visibility pop
