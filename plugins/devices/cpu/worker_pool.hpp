// Helper threads for the CPU device's large elementwise kernels (the fused optimizer
// updates): the calling thread and `workers` helpers each run one part of a loop.
//
// OpenBLAS owns the cores during a GEMM; these threads only run between GEMMs. Idle, a helper
// polls for about a millisecond with sched_yield (so a runnable OpenBLAS thread keeps the
// core) and then sleeps on a futex (std::atomic::wait): it never busy-waits against
// OpenBLAS's pool (which would slow both down: see plugin.cpp), and a burst of updates does
// not pay a wake-up each. A part must not throw.
//
// set_parts() lowers the number of parts a run() uses (the device does while other processes
// keep cores busy, load_monitor.hpp): the helpers beyond it are not woken and sleep.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace plexus_cpu {

class WorkerPool {
public:
    // `setup` runs first in every helper thread (the device flushes subnormals there).
    WorkerPool(unsigned workers, void (*setup)()) {
        threads_.reserve(workers);
        parts_ = workers + 1;
        for (unsigned i = 0; i < workers; ++i)
            threads_.emplace_back([this, i, setup] {
                setup();
                loop(i + 1);
            });
    }
    ~WorkerPool() {
        stop_.store(true, std::memory_order_relaxed);
        generation_.fetch_add(1, std::memory_order_release);
        generation_.notify_all();
        for (auto& t : threads_) t.join();
    }
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Threads a run() uses: the caller plus the active helpers (all of them unless
    // set_parts() said fewer).
    unsigned parts() const { return parts_; }

    // Requires: no run() in progress (the device calls it between ops). Ensures: parts() is
    // `parts` clamped to [1, helpers + 1].
    void set_parts(unsigned parts) {
        parts_ = std::clamp(parts, 1u, static_cast<unsigned>(threads_.size()) + 1);
    }

    // Calls body(part, parts()) once for every part in [0, parts()), part 0 on the calling
    // thread, and returns when all have finished. Not reentrant: one caller at a time.
    template <class Body>
    void run(Body& body) {
        const unsigned parts = parts_;
        if (parts == 1) return body(0u, 1u);
        task_ = &invoke<Body>;
        context_ = &body;
        run_parts_ = parts;
        pending_.store(parts - 1, std::memory_order_relaxed);
        generation_.fetch_add(1, std::memory_order_release);
        // Every helper wakes (one futex); those beyond `parts` go back to sleep at once.
        generation_.notify_all();
        body(0u, parts);
        // The helpers' parts take as long as ours: a short spin usually sees them done.
        for (int spin = 0; spin < 4000; ++spin)
            if (pending_.load(std::memory_order_acquire) == 0) return;
        for (unsigned left; (left = pending_.load(std::memory_order_acquire)) != 0;)
            pending_.wait(left, std::memory_order_acquire);
    }

private:
    template <class Body>
    static void invoke(void* context, unsigned part, unsigned parts) {
        (*static_cast<Body*>(context))(part, parts);
    }

    void loop(unsigned part) {
        std::uint64_t seen = 0;
        for (;;) {
            // Updates come in bursts (one per parameter tensor), and waking a sleeping thread
            // can take longer than the update itself (an idle virtual CPU is halted): poll
            // for a short while, yielding so a runnable OpenBLAS thread keeps the core, then
            // sleep.
            for (int spin = 0; spin < kSpins && generation_.load(std::memory_order_acquire) == seen; ++spin)
                std::this_thread::yield();
            generation_.wait(seen, std::memory_order_acquire);
            seen = generation_.load(std::memory_order_acquire);
            if (stop_.load(std::memory_order_relaxed)) return;
            if (part >= run_parts_) continue;  // not needed in this run
            task_(context_, part, run_parts_);
            if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
        }
    }

    static constexpr int kSpins = 2000;  // about 0.5–1 ms of sched_yield calls

    std::vector<std::thread> threads_;
    void (*task_)(void*, unsigned, unsigned) = nullptr;
    void* context_ = nullptr;
    unsigned parts_ = 1;
    unsigned run_parts_ = 1;  // the parts of the run in progress (published by generation_)
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<unsigned> pending_{0};
    std::atomic<bool> stop_{false};
};

}  // namespace plexus_cpu
