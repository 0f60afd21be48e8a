// What a forked child of plexus does first: drop the host's signal handlers and mask, so a
// crash, a Ctrl-C or a SIGTERM acts on the child alone (the plugin scanner's and the trial
// runner's forks share it).
#pragma once

#include <csignal>

namespace plexus::core {

/// Every signal back to its default action, none blocked. Call only in a freshly forked child.
inline void reset_signals_in_child() {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);  // fails harmlessly
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace plexus::core
