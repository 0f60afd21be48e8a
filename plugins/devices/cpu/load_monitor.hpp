// How many threads the cpu device should run while other processes keep cores busy.
//
// With one other CPU-bound process on a 2-core machine, a GEMM split over two threads waits
// for the half whose core it shares, and OpenBLAS's idle threads (which poll with sched_yield
// for about 0.1 s after every call) and the device's helpers spend the time slices they get:
// model (a) trained 8x slower, where one thread would have lost half (DESIGN.md §7). So the
// device counts the runnable threads of other processes now and then (/proc/loadavg's
// running count minus this process's own threads in state R) and uses the cores they leave
// free, at least one and at most the threads it was created with.
//
// Everything read from /proc is treated as hostile: a line that does not parse gives no
// sample, and without samples the device keeps its threads.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

namespace plexus_cpu {

// /proc/loadavg ("0.79 2.34 2.79 3/512 12345"): the fourth field's count of runnable threads,
// the reader included. nullopt unless the text has that shape.
inline std::optional<long> loadavg_running(std::string_view text) {
    std::size_t at = 0;
    for (int field = 0; field < 3; ++field) {
        at = text.find(' ', at);
        if (at == std::string_view::npos) return std::nullopt;
        ++at;
    }
    long running = 0, total = 0;
    const char* end = text.data() + text.size();
    const auto [p, ec] = std::from_chars(text.data() + at, end, running);
    if (ec != std::errc() || p == end || *p != '/' || running < 0) return std::nullopt;
    const auto [q, ec_total] = std::from_chars(p + 1, end, total);
    if (ec_total != std::errc() || total < running) return std::nullopt;
    return running;
}

// /proc/PID/task/TID/stat ("TID (comm) S ..."): the state letter, or 0. The name may hold
// spaces and parentheses, so the state follows the last ')'.
inline char stat_state(std::string_view text) {
    const std::size_t close = text.rfind(')');
    if (close == std::string_view::npos || close + 2 >= text.size() || text[close + 1] != ' ')
        return 0;
    return text[close + 2];
}

// The first bytes of a small /proc file; empty when it cannot be read.
inline std::string_view read_proc(const char* path, std::array<char, 512>& buffer) {
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return {};
    const ssize_t got = ::read(fd, buffer.data(), buffer.size());
    ::close(fd);
    return got > 0 ? std::string_view(buffer.data(), static_cast<std::size_t>(got)) : std::string_view{};
}

// "/proc/self/task/TID/stat" for a /proc/self/task entry that is a thread id (digits, at
// most 16), written into `path`; null for any other entry ("." and ".."). A stack buffer,
// not a std::string: the sample is taken inside a GEMM call of a training step, which
// allocates nothing.
using TaskStatPath = std::array<char, 16 + 16 + 5 + 1>;
inline const char* task_stat_path(std::string_view tid, TaskStatPath& path) {
    constexpr std::string_view kPrefix = "/proc/self/task/", kSuffix = "/stat";
    if (tid.empty() || tid.size() > 16 || tid.find_first_not_of("0123456789") != tid.npos)
        return nullptr;
    char* at = std::copy(kPrefix.begin(), kPrefix.end(), path.begin());
    at = std::copy(tid.begin(), tid.end(), at);
    at = std::copy(kSuffix.begin(), kSuffix.end(), at);
    *at = '\0';
    return path.data();
}

// Runnable threads of other processes at this moment; nullopt where /proc does not say.
inline std::optional<long> other_runnable_threads() {
    std::array<char, 512> buffer;
    const std::optional<long> running = loadavg_running(read_proc("/proc/loadavg", buffer));
    if (!running) return std::nullopt;
    DIR* tasks = ::opendir("/proc/self/task");
    if (!tasks) return std::nullopt;
    long own = 0;
    TaskStatPath path;
    while (const dirent* e = ::readdir(tasks))
        if (const char* file = task_stat_path(e->d_name, path))
            own += stat_state(read_proc(file, buffer)) == 'R';
    ::closedir(tasks);
    return std::max(0L, *running - own);
}

// The fewest runnable threads of other processes among readings taken a moment apart
// (nullopt entries skipped; nullopt when none was read). A process that keeps a core busy is
// runnable in every one; a thread that runs for a moment (a shell, this process's own helper
// starting or stopping between the two /proc reads of one reading) is not: at the start of
// `plexus evaluate` one such reading in three set the device to one thread for its whole
// first 0.1 s, half its speed.
template <class Readings>
std::optional<long> least_reading(const Readings& readings) {
    std::optional<long> least;
    for (const std::optional<long>& r : readings)
        if (r && (!least || *r < *least)) least = r;
    return least;
}

class LoadMonitor {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr auto kInterval = std::chrono::milliseconds(100);
    static constexpr std::size_t kWindow = 5;  // samples averaged: about half a second

    // Requires: max_threads >= 1, cpus >= 1.
    LoadMonitor(unsigned max_threads, unsigned cpus) : max_(max_threads), cpus_(cpus), threads_(max_threads) {}

    // The threads to use for `others` runnable threads of other processes on average:
    // the cores they leave (rounding half a busy core up), in [1, max_threads].
    static unsigned threads_for(double others, unsigned cpus, unsigned max_threads) {
        const double free = static_cast<double>(cpus) - others;
        const long whole = free < 1.0 ? 1L : static_cast<long>(free + 0.5 - 1e-9);
        return static_cast<unsigned>(std::clamp(whole, 1L, static_cast<long>(std::max(1u, max_threads))));
    }

    unsigned threads() const { return threads_; }

    // Whether a sample is due (one every kInterval).
    bool due(Clock::time_point now) const { return now >= next_; }

    // Adds one sample (nullopt: none could be read) taken at `now`. Ensures: threads() follows
    // the average of the last kWindow samples. Returns whether threads() changed.
    bool add(std::optional<long> others, Clock::time_point now) {
        next_ = now + kInterval;
        if (!others) return false;
        samples_[count_++ % kWindow] = *others;
        const std::size_t n = std::min(count_, kWindow);
        double sum = 0.0;
        for (std::size_t i = 0; i < n; ++i) sum += static_cast<double>(samples_[i]);
        const unsigned t = threads_for(sum / static_cast<double>(n), cpus_, max_);
        if (t == threads_) return false;
        threads_ = t;
        return true;
    }

private:
    unsigned max_, cpus_, threads_;
    std::array<long, kWindow> samples_{};
    std::size_t count_ = 0;
    Clock::time_point next_{};
};

}  // namespace plexus_cpu
