// The CPU device's thread count under load (load_monitor.hpp) and its helper pool's parts.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "load_monitor.hpp"
#include "test_cpu_support.hpp"
#include "worker_pool.hpp"

using namespace cpu_test;
using plexus_cpu::LoadMonitor;

BOOST_AUTO_TEST_SUITE(cpu_threads)

BOOST_AUTO_TEST_CASE(loadavg_running_count_and_hostile_lines) {
    BOOST_TEST(plexus_cpu::loadavg_running("0.79 2.34 2.79 3/512 12345\n").value_or(-1) == 3);
    BOOST_TEST(plexus_cpu::loadavg_running("10.61 7.04 4.65 17/1024 99").value_or(-1) == 17);
    for (const char* bad : {"", "0.79 2.34", "0.79 2.34 2.79 ", "a b c x/5 1", "1 2 3 -4/5 6",
                            "1 2 3 99999999999999999999999/5 1", "1 2 3 3", "1 2 3 3/"})
        BOOST_TEST(!plexus_cpu::loadavg_running(bad).has_value(), "'" << bad << "'");
}

BOOST_AUTO_TEST_CASE(task_state_follows_the_last_parenthesis) {
    BOOST_TEST(plexus_cpu::stat_state("123 (a) b) R 1 2 3") == 'R');
    BOOST_TEST(plexus_cpu::stat_state("7 (plexus) S 1 7") == 'S');
    for (const char* bad : {"", "garbage", "1 (x)", "1 (x) ", "1 (x)R 2"})
        BOOST_TEST(plexus_cpu::stat_state(bad) == 0, "'" << bad << "'");
}

BOOST_AUTO_TEST_CASE(task_stat_paths_only_for_thread_ids) {
    plexus_cpu::TaskStatPath path;
    const char* p = plexus_cpu::task_stat_path("4242", path);
    BOOST_TEST_REQUIRE(p != nullptr);
    BOOST_TEST(std::string(p) == "/proc/self/task/4242/stat");
    p = plexus_cpu::task_stat_path("1234567890123456", path);  // the longest taken
    BOOST_TEST_REQUIRE(p != nullptr);
    BOOST_TEST(std::string(p) == "/proc/self/task/1234567890123456/stat");
    for (const char* other : {"", ".", "..", "12a", "-1", "12345678901234567"})
        BOOST_TEST(plexus_cpu::task_stat_path(other, path) == nullptr, "'" << other << "'");
    // This thread's own file, found through the path: it is running, so its state is R.
    const std::string tid = std::to_string(static_cast<long>(::gettid()));
    std::array<char, 512> buffer;
    BOOST_TEST(plexus_cpu::stat_state(plexus_cpu::read_proc(plexus_cpu::task_stat_path(tid, path),
                                                            buffer)) == 'R');
}

BOOST_AUTO_TEST_CASE(threads_are_the_cores_others_leave) {
    // (others on average, cpus, the device's threads) -> threads to use, worked by hand.
    BOOST_TEST(LoadMonitor::threads_for(0.0, 2, 2) == 2u);
    BOOST_TEST(LoadMonitor::threads_for(0.4, 2, 2) == 2u);
    BOOST_TEST(LoadMonitor::threads_for(0.5, 2, 2) == 1u);  // half a busy core counts as busy
    BOOST_TEST(LoadMonitor::threads_for(1.0, 2, 2) == 1u);
    BOOST_TEST(LoadMonitor::threads_for(9.0, 2, 2) == 1u);  // never below one
    BOOST_TEST(LoadMonitor::threads_for(0.0, 2, 1) == 1u);
    BOOST_TEST(LoadMonitor::threads_for(3.0, 16, 8) == 8u);  // never above the device's
    BOOST_TEST(LoadMonitor::threads_for(10.0, 16, 8) == 6u);
}

BOOST_AUTO_TEST_CASE(monitor_averages_its_last_samples) {
    LoadMonitor m(2, 2);
    const auto t0 = LoadMonitor::Clock::now();
    BOOST_TEST(m.due(t0));
    BOOST_TEST(!m.add(0L, t0));
    BOOST_TEST(!m.due(t0 + LoadMonitor::kInterval / 2));
    BOOST_TEST(m.due(t0 + LoadMonitor::kInterval));
    BOOST_TEST(!m.add(0L, t0));
    BOOST_TEST(!m.add(1L, t0));  // (0 + 0 + 1) / 3: still two
    BOOST_TEST(m.threads() == 2u);
    BOOST_TEST(m.add(1L, t0));  // 2 / 4 = 0.5: one
    BOOST_TEST(m.threads() == 1u);
    BOOST_TEST(!m.add(std::nullopt, t0));  // an unreadable sample changes nothing
    BOOST_TEST(m.threads() == 1u);
    for (int i = 0; i < 4; ++i) m.add(0L, t0);  // the window holds 1, 0, 0, 0, 0: 0.2
    BOOST_TEST(m.threads() == 2u);
}

// The device's first reading is the least of three (a busy process shows in all of them).
BOOST_AUTO_TEST_CASE(first_reading_is_the_least) {
    using R = std::vector<std::optional<long>>;
    BOOST_TEST(plexus_cpu::least_reading(R{0L, 2L, 1L}).value_or(-1) == 0L);
    BOOST_TEST(plexus_cpu::least_reading(R{1L, 1L, 2L}).value_or(-1) == 1L);
    BOOST_TEST(plexus_cpu::least_reading(R{std::nullopt, 3L, std::nullopt}).value_or(-1) == 3L);
    BOOST_TEST(!plexus_cpu::least_reading(R{std::nullopt, std::nullopt}));
    BOOST_TEST(!plexus_cpu::least_reading(R{}));
}

BOOST_AUTO_TEST_CASE(pool_runs_as_many_parts_as_set) {
    plexus_cpu::WorkerPool pool(1, [] {});
    const auto caller = std::this_thread::get_id();
    for (const auto& [set, want] : {std::pair{1u, 1u}, {2u, 2u}, {0u, 1u}, {5u, 2u}, {2u, 2u}}) {
        pool.set_parts(set);
        BOOST_TEST(pool.parts() == want);
        std::atomic<unsigned> calls{0};
        std::set<std::thread::id> ids;
        std::mutex m;
        auto body = [&](unsigned part, unsigned parts) {
            BOOST_TEST(parts == want);
            BOOST_TEST(part < parts);
            calls.fetch_add(1);
            std::lock_guard lock(m);
            ids.insert(std::this_thread::get_id());
        };
        pool.run(body);
        BOOST_TEST(calls.load() == want);
        BOOST_TEST(ids.size() == want);
        BOOST_TEST(ids.count(caller) == 1u);
    }
}

// Spinning children, one per core: the device that follows the load must drop to one thread
// within a second of GEMMs; the one told not to keeps its threads.
BOOST_AUTO_TEST_CASE(device_uses_one_thread_beside_busy_processes) {
    const auto cpus = static_cast<unsigned>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
    auto probe = load_cpu("cpu adapt_threads=false");
    if (probe->description().find(" 1 thread") != std::string::npos) {
        BOOST_TEST_MESSAGE("OpenBLAS runs one thread here: nothing to adapt; skipped");
        return;
    }
    std::vector<pid_t> children;
    for (unsigned i = 0; i < cpus; ++i) {
        const pid_t pid = fork();
        if (pid == 0) {
            for (;;) asm volatile("" ::: "memory");  // spins until killed
        }
        BOOST_TEST_REQUIRE(pid > 0);
        children.push_back(pid);
    }
    auto dev = load_cpu("cpu");
    Tensor a = dev->alloc({64, 64}), b = dev->alloc({64, 64}), c = dev->alloc({64, 64});
    dev->fill(a, 1.0f);
    dev->fill(b, 1.0f);
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
    while (std::chrono::steady_clock::now() < end &&
           dev->description().find(" 1 thread following the load") == std::string::npos) {
        dev->gemm(Transpose::no, Transpose::no, 1.0f, a, b, 0.0f, c);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const std::string followed = dev->description();
    dev->gemm(Transpose::no, Transpose::no, 1.0f, a, b, 0.0f, c);  // right on one thread
    auto fixed = load_cpu("cpu adapt_threads=false");
    const std::string kept = fixed->description();
    for (const pid_t pid : children) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
    }
    BOOST_TEST(followed.find(" 1 thread following the load") != std::string::npos, followed);
    BOOST_TEST(kept.find(" 1 thread") == std::string::npos, kept);
    BOOST_TEST(plexus::testing::to_host(*dev, c)[0] == 64.0f);
}

BOOST_AUTO_TEST_SUITE_END()
