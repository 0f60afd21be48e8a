// The trainer's own timings (epochs, the gradient sums): seconds on the steady clock.
#pragma once

#include <chrono>

namespace plexus::core::timing {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace plexus::core::timing
