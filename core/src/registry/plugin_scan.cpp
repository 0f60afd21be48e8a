// The plugin scanner: a fork of this very process loads the candidates first (see
// plugin_scan.hpp). A fork, not a helper program: dlopen's path through a damaged file depends
// on which symbols resolve, and only a copy of the host has the host's libraries, executable
// and earlier plugins in scope (a separate scanner program failed cleanly on fuzz case
// seed17-case25 where plexus itself then crashed).
#include "plexus/core/registry/plugin_scan.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <set>

#include "plexus/core/registry/child_signals.hpp"
#include "plexus/core/registry/manifest_check.hpp"
#include "plexus/plugin.hpp"

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

constexpr int kChannelFd = 3;  // where the child writes its answers
constexpr int kSecondsPerCandidate = 10;
constexpr std::size_t kMaxAnswer = 64;  // "<index> fail" never comes near

std::string signal_words(int sig) {
    const char* abbrev = sigabbrev_np(sig);
    return "signal " + std::to_string(sig) + (abbrev ? std::string(", SIG") + abbrev : "");
}

/// Reads a manifest string to its end, so a wild pointer faults in the child, not later.
std::size_t touch(const char* text) {
    return text ? std::strlen(text) : 0;
}

/// Reads every string of the manifest the way `plexus plugins` will.
std::size_t touch_manifest(const Manifest& m) {
    std::size_t total = touch(m.build_tag);
    for (std::size_t i = 0; m.components && i < m.component_count; ++i) {
        const ComponentInfo& c = m.components[i];
        total += touch(c.name) + touch(c.version) + touch(c.summary);
        for (std::size_t p = 0; c.params && p < c.param_count; ++p)
            total += touch(c.params[p].name) + touch(c.params[p].default_value) +
                     touch(c.params[p].choices) + touch(c.params[p].doc);
    }
    return total;
}

/// The child: loads `files` in order and answers "<index> ok|fail" on kChannelFd after each.
/// Never returns; never flushes or destroys anything of the parent's (it ends in _exit).
[[noreturn]] void scan_in_child(const std::vector<const char*>& files, int channel) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // orphaned, it stops rather than load for nobody
    // The host's handlers (a crash report, a run folder's stop) are not the child's business.
    reset_signals_in_child();
    // No stdin; a plugin constructor's chatter and the loader's messages reach nobody.
    const int null = ::open("/dev/null", O_RDWR);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) _exit(127);
    if (channel != kChannelFd && (dup2(channel, kChannelFd) < 0 || ::close(channel) != 0))
        _exit(127);
    volatile std::size_t sink = 0;  // keeps the manifest reads
    for (std::size_t i = 0; i < files.size(); ++i) {
        alarm(kSecondsPerCandidate + 5);  // a backstop; the parent kills it at 10 s
        void* handle = dlopen(files[i], RTLD_NOW | RTLD_LOCAL);
        if (handle)
            if (const auto* m =
                    static_cast<const Manifest*>(dlsym(handle, PLEXUS_MANIFEST_DATA_SYMBOL)))
                // A manifest pointing outside its library is left unread: the host refuses
                // it with manifest_check's own message, which says what is wrong.
                if (manifest_pointer_problem(*m).empty()) sink = sink + touch_manifest(*m);
        char line[32];
        const int n = std::snprintf(line, sizeof line, "%zu %s\n", i, handle ? "ok" : "fail");
        if (::write(kChannelFd, line, static_cast<std::size_t>(n)) != n) _exit(2);
    }
    _exit(0);
}

/// One child process and the read end of its answer channel.
struct Helper {
    pid_t pid = -1;
    int channel = -1;
    std::string error;  // why it could not be started
};

Helper start(const std::vector<const ScanCandidate*>& files) {
    Helper h;
    std::vector<const char*> paths;  // prepared before fork: the child only reads them
    for (const auto* f : files) paths.push_back(f->path.c_str());
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        h.error = std::strerror(errno);
        return h;
    }
    h.pid = ::fork();
    if (h.pid == 0) {
        ::close(fds[0]);
        scan_in_child(paths, fds[1]);
    }
    ::close(fds[1]);
    if (h.pid < 0) {
        h.error = std::strerror(errno);
        ::close(fds[0]);
        return h;
    }
    h.channel = fds[0];
    return h;
}

/// Reads answers until the helper ends or keeps one candidate over the limit; returns how
/// many candidates were answered (in order) and sets `timed_out` / `garbled`.
std::size_t collect(Helper& h, std::size_t count, std::vector<bool>& loaded, bool& timed_out,
                    bool& garbled) {
    using clock = std::chrono::steady_clock;
    std::size_t answered = 0;
    std::string pending;
    auto deadline = clock::now() + std::chrono::seconds(kSecondsPerCandidate);
    while (answered < count) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        pollfd p{h.channel, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) continue;  // the deadline check above ends it
        char buf[256];
        const ssize_t n = ::read(h.channel, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // the helper ended
        pending.append(buf, static_cast<std::size_t>(n));
        for (std::size_t eol; (eol = pending.find('\n')) != std::string::npos;) {
            const std::string line = pending.substr(0, eol);
            pending.erase(0, eol + 1);
            const std::string expect = std::to_string(answered) + " ";
            if (line != expect + "ok" && line != expect + "fail") {
                garbled = true;  // a plugin's constructor wrote to our channel
                return answered;
            }
            loaded[answered++] = line == expect + "ok";
            deadline = clock::now() + std::chrono::seconds(kSecondsPerCandidate);
        }
        if (pending.size() > kMaxAnswer) {
            garbled = true;
            return answered;
        }
    }
    return answered;
}

std::string refusal(int status, bool timed_out, bool garbled) {
    const std::string fix = ": the file is damaged; rebuild or reinstall it";
    if (timed_out)
        return "hung while loading (no answer in " + std::to_string(kSecondsPerCandidate) + " s)" +
               fix;
    if (garbled) return "wrote into the plugin scanner's channel while loading" + fix;
    if (WIFSIGNALED(status))
        return "crashed while loading (" + signal_words(WTERMSIG(status)) + ")" + fix;
    return "ended the loading process (exit status " +
           std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")" + fix;
}

}  // namespace

std::vector<std::string> vet_plugins(const std::vector<ScanCandidate>& candidates, bool debug) {
    std::vector<std::string> verdicts(candidates.size());
    const fs::path cache = plugin_scan_cache_file();
    const std::vector<std::string> cached =
        cache.empty() ? std::vector<std::string>() : read_plugin_scan_cache(cache);
    const std::set<std::string> known(cached.begin(), cached.end());
    std::vector<std::size_t> todo;
    for (std::size_t i = 0; i < candidates.size(); ++i)
        if (!known.count(plugin_scan_key(candidates[i]))) todo.push_back(i);
    if (todo.empty()) return verdicts;

    std::vector<ScanCandidate> good;
    std::size_t next = 0;
    while (next < todo.size()) {
        std::vector<const ScanCandidate*> files;
        for (std::size_t i = next; i < todo.size(); ++i) files.push_back(&candidates[todo[i]]);
        if (debug)
            std::cerr << "plexus: plugin scanner (a fork of this process) started for "
                      << files.size() << " candidate(s)\n";
        Helper h = start(files);
        if (h.pid < 0) {
            for (std::size_t i = next; i < todo.size(); ++i)
                verdicts[todo[i]] =
                    "cannot be checked: no process to load it in first can be started (" + h.error +
                    "); try again";
            break;
        }
        std::vector<bool> loaded(files.size(), false);
        bool timed_out = false, garbled = false;
        const std::size_t answered = collect(h, files.size(), loaded, timed_out, garbled);
        if (answered < files.size()) ::kill(h.pid, SIGKILL);  // hung, garbled or already dead
        ::close(h.channel);
        int status = 0;
        while (::waitpid(h.pid, &status, 0) < 0 && errno == EINTR) {
        }
        for (std::size_t i = 0; i < answered; ++i)
            if (loaded[i]) good.push_back(*files[i]);
        if (answered == files.size()) break;
        // A helper we killed ourselves reports SIGKILL; say why we killed it instead.
        verdicts[todo[next + answered]] = refusal(status, timed_out, garbled);
        next += answered + 1;
    }
    if (!good.empty() && !cache.empty()) write_plugin_scan_cache(cache, cached, good);
    return verdicts;
}

}  // namespace plexus::core
