// Trial processes. Between fork and exec only async-signal-safe calls are made: the parent may
// have threads (BLAS pools, the registry's), and a forked copy of a threaded process must not
// touch locks or the heap. Everything the child needs is prepared before fork().
#include "plexus/core/study/trial_process.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "plexus/core/registry/child_signals.hpp"
#include "plexus/error.hpp"

namespace plexus::core {
namespace {

constexpr int kChannelFd = 3;  // where the program finds its channel

/// The guard's answer to its parent's death: kill its own process group, itself included.
extern "C" void kill_own_group(int) {
    ::kill(0, SIGKILL);
}

/// Ends the guard the way the program ended, so the parent sees the program's status.
[[noreturn]] void relay(int status) {
    if (WIFSIGNALED(status)) {
        const struct rlimit no_core { 0, 0 };
        setrlimit(RLIMIT_CORE, &no_core);  // the program dumped its own core, if any
        const int sig = WTERMSIG(status);
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        sigaction(sig, &dfl, nullptr);
        ::kill(getpid(), sig);
        _exit(128 + sig);
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

struct Prepared {
    std::vector<char*> argv;
    const char* cwd = nullptr;
    int out = -1, err = -1, channel = -1;
    pid_t parent = 0;
};

/// The guard: runs in the child of fork(), never returns.
[[noreturn]] void guard(const Prepared& p) {
    setpgid(0, 0);
    reset_signals_in_child();
    struct sigaction on_hup {};
    on_hup.sa_handler = kill_own_group;
    sigaction(SIGHUP, &on_hup, nullptr);
    prctl(PR_SET_PDEATHSIG, SIGHUP);
    if (getppid() != p.parent) kill_own_group(0);  // the parent died before prctl

    const int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_in < 0 || dup2(null_in, 0) < 0 || dup2(p.out, 1) < 0 || dup2(p.err, 2) < 0) _exit(127);
    if (p.channel >= 0) {
        if (p.channel == kChannelFd) {
            if (fcntl(kChannelFd, F_SETFD, 0) < 0) _exit(127);
        } else if (dup2(p.channel, kChannelFd) < 0) {
            _exit(127);
        }
    }
    // Nothing else of the parent's (its database, other trials' channels) reaches the trial.
    syscall(SYS_close_range, p.channel >= 0 ? kChannelFd + 1 : kChannelFd, ~0U, 0);

    const pid_t self = getpid();
    const pid_t program = fork();
    if (program < 0) _exit(127);
    if (program == 0) {
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGHUP, &dfl, nullptr);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != self) _exit(127);
        if (p.cwd && chdir(p.cwd) != 0) {
            static const char kMsg[] = "plexus: cannot enter the trial's working folder\n";
            [[maybe_unused]] auto n = write(2, kMsg, sizeof kMsg - 1);
            _exit(127);
        }
        execv(p.argv[0], p.argv.data());
        static const char kMsg[] = "plexus: cannot execute the trial program\n";
        [[maybe_unused]] auto n = write(2, kMsg, sizeof kMsg - 1);
        _exit(127);
    }
    int status = 0;
    while (waitpid(program, &status, 0) < 0)
        if (errno != EINTR) _exit(127);
    relay(status);
}

int open_output(const std::filesystem::path& file) {
    const int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        throw Error(file.string() + ": cannot write the trial's output: " + std::strerror(errno));
    return fd;
}

}  // namespace

std::string TrialExit::describe() const {
    if (!signaled) return "exit status " + std::to_string(code);
    const char* abbrev = sigabbrev_np(code);
    return "signal " + std::to_string(code) + (abbrev ? std::string(" (SIG") + abbrev + ")" : "");
}

TrialProcess::TrialProcess(const TrialCommand& command) {
    if (command.argv.empty()) throw Error("a trial needs a program to run");
    std::vector<std::string> args = command.argv;
    Prepared p;
    for (auto& a : args) p.argv.push_back(a.data());
    p.argv.push_back(nullptr);
    p.out = open_output(command.stdout_file);
    try {
        p.err =
            command.stderr_file == command.stdout_file ? p.out : open_output(command.stderr_file);
    } catch (...) {
        close(p.out);
        throw;
    }
    p.channel = command.channel_fd;
    const std::string cwd = command.cwd.string();
    if (!cwd.empty()) p.cwd = cwd.c_str();
    p.parent = getpid();

    pid_ = fork();
    if (pid_ == 0) guard(p);
    const int fork_errno = errno;
    close(p.out);
    if (p.err != p.out) close(p.err);
    if (pid_ < 0) throw Error(std::string("cannot start a trial: ") + std::strerror(fork_errno));
    setpgid(pid_, pid_);  // also here, so kill() works before the child got to it
    pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd_ < 0) {
        const int e = errno;
        kill();
        wait();
        throw Error(std::string("cannot watch a trial process (pidfd_open): ") + std::strerror(e));
    }
}

TrialProcess::~TrialProcess() {
    if (!exit_) {
        kill();
        wait();
    }
    if (pidfd_ >= 0) close(pidfd_);
}

void TrialProcess::kill() {
    if (!exit_ && pid_ > 0) ::kill(-pid_, SIGKILL);
}

std::optional<TrialExit> TrialProcess::try_wait() {
    if (exit_) return exit_;
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == 0) return std::nullopt;
    if (r < 0) {  // not ours any more (should not happen): treat as killed
        exit_ = TrialExit{true, SIGKILL};
        return exit_;
    }
    exit_ = WIFSIGNALED(status) ? TrialExit{true, WTERMSIG(status)}
                                : TrialExit{false, WIFEXITED(status) ? WEXITSTATUS(status) : 1};
    return exit_;
}

TrialExit TrialProcess::wait() {
    while (!exit_) {
        int status = 0;
        const pid_t r = waitpid(pid_, &status, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            exit_ = TrialExit{true, SIGKILL};
            break;
        }
        exit_ = WIFSIGNALED(status) ? TrialExit{true, WTERMSIG(status)}
                                    : TrialExit{false, WIFEXITED(status) ? WEXITSTATUS(status) : 1};
    }
    return *exit_;
}

}  // namespace plexus::core
