// The timing loop of the GEMM benchmarks (sgemm_ceiling.cpp, device_gemm.cpp): the best rate
// of three timed windows of `seconds` / 3 each, after `warmups` untimed calls. `sync` runs
// after every call and before every clock reading (a device's synchronize(), or nothing for
// a synchronous library).
#pragma once

#include <algorithm>
#include <chrono>

namespace plexus::bench {

/// GFLOP/s of `body`, which does `flops` floating-point operations per call.
template <class Body, class Sync>
double best_gflops(Body&& body, Sync&& sync, double flops, double seconds, int warmups) {
    using Clock = std::chrono::steady_clock;
    for (int i = 0; i < warmups; ++i) body();
    sync();
    double best = 0.0;
    for (int window = 0; window < 3; ++window) {
        long calls = 0;
        const auto t0 = Clock::now();
        double elapsed = 0.0;
        do {
            body();
            ++calls;
            sync();
            elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
        } while (elapsed < seconds / 3);
        best = std::max(best, calls * flops / elapsed / 1e9);
    }
    return best;
}

}  // namespace plexus::bench
