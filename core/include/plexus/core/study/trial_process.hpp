// A trial as a child process: its own process group, its output in files, and a guard that
// takes the whole group down with it when `plexus tune` dies, even by kill -9.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// What to run: argv[0] is the program (a path, not searched in PATH).
struct TrialCommand {
    std::vector<std::string> argv;
    std::filesystem::path stdout_file;  // created or truncated
    std::filesystem::path stderr_file;  // may equal stdout_file: then both share one file
    std::filesystem::path cwd;          // where it runs; empty: this process's working folder
    /// An open descriptor the program receives as fd 3 (the trial channel); -1 for none.
    int channel_fd = -1;
};

/// How a finished trial process ended.
struct TrialExit {
    bool signaled = false;
    int code = 0;  // exit status, or the signal number when signaled
    /// "exit status 2", "signal 11 (SIGSEGV)".
    std::string describe() const;
};

/// A running trial. The process tree is: `plexus tune` → guard → program, the guard and the
/// program in a new process group. The guard dies with its parent (PR_SET_PDEATHSIG) and
/// then kills the group, so nothing the program started outlives `plexus tune`; it relays
/// the program's end as its own (same exit status, or death by the same signal).
class TrialProcess {
public:
    /// Forks and execs. Throws Error naming the file when an output file cannot be opened;
    /// a program that cannot be executed ends with exit status 127.
    explicit TrialProcess(const TrialCommand& command);
    ~TrialProcess();  // kills the group and reaps, when still running
    TrialProcess(const TrialProcess&) = delete;
    TrialProcess& operator=(const TrialProcess&) = delete;

    pid_t pid() const { return pid_; }  // the guard's pid, also the process group id
    /// A descriptor that poll() reports readable once the process has ended.
    int exit_fd() const { return pidfd_; }
    /// SIGKILL to the whole process group (no-op once reaped).
    void kill();
    /// The exit once the process has ended (reaps it), else nullopt; never blocks.
    std::optional<TrialExit> try_wait();
    /// Blocks until the process has ended.
    TrialExit wait();

private:
    pid_t pid_ = -1;
    int pidfd_ = -1;
    std::optional<TrialExit> exit_;
};

}  // namespace plexus::core

#pragma GCC visibility pop
