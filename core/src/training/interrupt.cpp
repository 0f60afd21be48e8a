#include "plexus/core/training/interrupt.hpp"

#include <atomic>
#include <csignal>

namespace plexus::core {

namespace {
std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) {
    g_interrupted.store(true);
    std::signal(SIGINT, SIG_DFL);
}
}  // namespace

void request_interrupt() noexcept {
    g_interrupted.store(true);
}
bool interrupt_requested() noexcept {
    return g_interrupted.load(std::memory_order_relaxed);
}
void install_interrupt_handler() {
    std::signal(SIGINT, on_sigint);
}

}  // namespace plexus::core
