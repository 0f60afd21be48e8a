#include "plexus/core/training/interrupt.hpp"

#include <atomic>
#include <csignal>

namespace plexus::core {

namespace {

std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "a signal handler may only use lock-free atomics");

void set_action(int signal, void (*handler)(int)) {
    struct sigaction action {};
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    ::sigaction(signal, &action, nullptr);
}

extern "C" void plexus_training_on_signal(int signal) {
    int none = 0;
    g_signal.compare_exchange_strong(none, signal);
    // sigaction is async-signal-safe (std::signal is not guaranteed to be).
    set_action(SIGINT, SIG_DFL);
    set_action(SIGTERM, SIG_DFL);
}

}  // namespace

void request_interrupt(int signal) noexcept {
    int none = 0;
    g_signal.compare_exchange_strong(none, signal);
}
bool interrupt_requested() noexcept {
    return g_signal.load(std::memory_order_relaxed) != 0;
}
int interrupt_signal() noexcept {
    return g_signal.load(std::memory_order_relaxed);
}
void install_interrupt_handler() {
    set_action(SIGINT, plexus_training_on_signal);
    set_action(SIGTERM, plexus_training_on_signal);
}

}  // namespace plexus::core
