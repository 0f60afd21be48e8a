// Runs plexus-plugin-scanner over the plugin candidates that have no cached verdict (see
// plugin_scan.hpp and apps/plexus-plugin-scanner/main.cpp for the protocol).
#include "plexus/core/registry/plugin_scan.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <iostream>
#include <set>

extern char** environ;

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

constexpr int kChannelFd = 3;
constexpr int kSecondsPerCandidate = 10;
constexpr std::size_t kMaxAnswer = 64;  // "<index> fail" never comes near

/// The scanner lies beside the plugins folder, under the folder of the core library that is
/// running this code (the build tree and an installed tree alike; any program using the core).
fs::path scanner_path() {
    Dl_info info{};
    if (!dladdr(reinterpret_cast<void*>(&scanner_path), &info) || !info.dli_fname) return {};
    std::error_code ec;
    const fs::path core = fs::canonical(info.dli_fname, ec);
    return ec ? fs::path() : core.parent_path() / "plexus" / "plexus-plugin-scanner";
}

std::string signal_words(int sig) {
    const char* abbrev = sigabbrev_np(sig);
    return "signal " + std::to_string(sig) + (abbrev ? std::string(", SIG") + abbrev : "");
}

/// One helper process and the read end of its answer channel.
struct Helper {
    pid_t pid = -1;
    int channel = -1;
    std::string error;  // why it could not be started
};

Helper start(const fs::path& scanner, const std::vector<const ScanCandidate*>& files) {
    Helper h;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        h.error = std::strerror(errno);
        return h;
    }
    std::vector<std::string> args{scanner.string()};
    for (const auto* f : files) args.push_back(f->path.string());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // No stdin; its stdout and stderr (a plugin constructor's chatter, the loader's
    // messages) never reach the user's terminal.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_adddup2(&actions, fds[1], kChannelFd);
    posix_spawn_file_actions_addclosefrom_np(&actions, kChannelFd + 1);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    const int rc = posix_spawn(&h.pid, argv[0], &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        h.pid = -1;
        h.error = std::strerror(rc);
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

    const fs::path scanner = scanner_path();
    std::vector<ScanCandidate> good;
    std::size_t next = 0;
    while (next < todo.size()) {
        std::vector<const ScanCandidate*> files;
        for (std::size_t i = next; i < todo.size(); ++i) files.push_back(&candidates[todo[i]]);
        if (debug)
            std::cerr << "plexus: plugin scanner " << scanner.string() << " started for "
                      << files.size() << " candidate(s)\n";
        Helper h = scanner.empty() ? Helper{-1, -1, "the core library's folder is unknown"}
                                   : start(scanner, files);
        if (h.pid < 0) {
            for (std::size_t i = next; i < todo.size(); ++i)
                verdicts[todo[i]] = "cannot be checked: the plugin scanner " + scanner.string() +
                                    " cannot be started (" + h.error + "); reinstall Plexus";
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
        if (debug)
            std::cerr << "plexus: plugin candidate " << files[answered]->path.string() << ": "
                      << verdicts[todo[next + answered]] << "\n";
        next += answered + 1;
    }
    if (!good.empty() && !cache.empty()) write_plugin_scan_cache(cache, cached, good);
    return verdicts;
}

}  // namespace plexus::core
