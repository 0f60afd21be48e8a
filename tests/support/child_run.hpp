// Runs `plexus` as a child process the test can signal (SIGKILL, SIGTERM, SIGINT) at chosen
// moments, and compares run folders: for the interruption and resume tests.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace plexus::test {

/// Starts PLEXUS_TEST_BINARY with `args`, stdout and stderr to `log`, stdin from /dev/null.
inline pid_t spawn_plexus(const std::vector<std::string>& args, const std::filesystem::path& log) {
    const pid_t pid = ::fork();
    if (pid != 0) return pid;
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int in = ::open("/dev/null", O_RDONLY);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::dup2(in, 0);
    std::vector<char*> argv{const_cast<char*>(PLEXUS_TEST_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(PLEXUS_TEST_BINARY, argv.data());
    ::_exit(127);
}

/// The exit code, or 128 + the signal that ended it.
inline int wait_exit(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// Polls until `ready` holds or the child exits (false then), for at most a minute.
inline bool wait_for(pid_t pid, const std::function<bool()>& ready) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    while (std::chrono::steady_clock::now() < until) {
        if (ready()) return true;
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) return false;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return false;
}

inline std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// CSV text without its "seconds" column (the only value that differs between runs).
inline std::string without_seconds(const std::string& csv) {
    std::istringstream in(csv);
    std::string line, out;
    long drop = -1;
    bool header = true;
    while (std::getline(in, line)) {
        std::vector<std::string> cells;
        std::stringstream row(line);
        for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
        if (header) {
            for (std::size_t i = 0; i < cells.size(); ++i)
                if (cells[i] == "seconds") drop = static_cast<long>(i);
            header = false;
        }
        for (std::size_t i = 0; i < cells.size(); ++i)
            if (static_cast<long>(i) != drop) out += cells[i] + (i + 1 < cells.size() ? "," : "");
        out += "\n";
    }
    return out;
}

/// Rows of a CSV file after its header (0 when it is missing).
inline std::size_t csv_rows(const std::filesystem::path& p) {
    const std::string text = slurp(p);
    const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    return lines > 0 ? lines - 1 : 0;
}

/// The one folder inside `out` (a run's), or an empty path.
inline std::filesystem::path only_run(const std::filesystem::path& out) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(out, ec)) return e.path();
    return {};
}

}  // namespace plexus::test
