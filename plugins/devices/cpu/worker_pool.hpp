// Helper threads for the CPU device's large elementwise kernels (the fused optimizer
// updates): the calling thread and `workers` helpers each run one part of a loop.
//
// OpenBLAS owns the cores during a GEMM; these threads only run between GEMMs, and they
// sleep on a futex (std::atomic::wait) while idle instead of spinning, so they never fight
// OpenBLAS's pool for a core (DESIGN §7). A part must not throw.
#pragma once

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

    // Threads a run() uses: the caller plus the helpers.
    unsigned parts() const { return static_cast<unsigned>(threads_.size()) + 1; }

    // Calls body(part, parts()) once for every part in [0, parts()), part 0 on the calling
    // thread, and returns when all have finished. Not reentrant: one caller at a time.
    template <class Body>
    void run(Body& body) {
        if (threads_.empty()) return body(0u, 1u);
        task_ = &invoke<Body>;
        context_ = &body;
        pending_.store(static_cast<unsigned>(threads_.size()), std::memory_order_relaxed);
        generation_.fetch_add(1, std::memory_order_release);
        generation_.notify_all();
        body(0u, parts());
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
            generation_.wait(seen, std::memory_order_acquire);
            seen = generation_.load(std::memory_order_acquire);
            if (stop_.load(std::memory_order_relaxed)) return;
            task_(context_, part, parts());
            if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
        }
    }

    std::vector<std::thread> threads_;
    void (*task_)(void*, unsigned, unsigned) = nullptr;
    void* context_ = nullptr;
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<unsigned> pending_{0};
    std::atomic<bool> stop_{false};
};

}  // namespace plexus_cpu
