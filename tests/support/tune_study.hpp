// Small studies for the `plexus tune` tests: iris (150 rows) trains an epoch in milliseconds,
// and the study fixture plugin (tests/fixtures/study_plugin.cpp) crashes, hangs or logs a
// curve with a known best on demand.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "../cli.hpp"
#include "plexus/core/study/storage.hpp"
#include "plexus/core/study/study.hpp"

namespace plexus::test {

inline const std::string kStudyPlugins =
    std::string("--plugin-path '") + PLEXUS_TEST_FIXTURE_DIR + "/study'";

inline void write_text(const std::filesystem::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary) << text;
}

/// An iris experiment in `dir` with `model` as its [model] layers and `extra` appended to
/// [train]; `test` is the [data] test line ("" for the 60:20:20 split's held-out part).
inline void write_iris_experiment(const std::filesystem::path& dir, const std::string& name,
                                  const std::string& layers, const std::string& extra,
                                  const std::string& test = "", int epochs = 3) {
    std::filesystem::copy_file(
        std::filesystem::path(PLEXUS_TEST_SOURCE_DIR) / "examples" / "data" / "iris.csv",
        dir / "iris.csv", std::filesystem::copy_options::skip_existing);
    write_text(dir / name, "[data]\ntrain = csv:iris.csv label=species\n" +
                               (test.empty() ? std::string("split = 60:20:20 stratified\n")
                                             : "validation = 0.2\ntest = " + test + "\n") +
                               "seed = 7\n[model]\nlayer = dense units=8\n" + layers +
                               "layer = dense units=3\nloss = softmax_cross_entropy\n[train]\n"
                               "optimizer = adam lr=0.01\nbatch_size = 16\nepochs = " +
                               std::to_string(epochs) + "\nmetric = accuracy\n" + extra);
}

/// The storage of the study `study_file` describes, opened.
inline std::unique_ptr<core::StudyStorage> open_study(const std::filesystem::path& study_file) {
    const core::StudySpec spec = core::load_study(study_file);
    auto storage = core::open_storage("", spec.dir / "study.db");
    storage->open(spec.name, spec.definition(), study_file.string());
    return storage;
}

/// Every trial of the study `study_file` describes.
inline std::vector<core::TrialRecord> stored_trials(const std::filesystem::path& study_file) {
    return open_study(study_file)->trials();
}

inline std::size_t count_state(const std::vector<core::TrialRecord>& trials, TrialState s) {
    std::size_t n = 0;
    for (const auto& t : trials) n += t.state == s;
    return n;
}

/// Starts `plexus ARGS...` in the background with its output in `log`.
inline pid_t spawn_plexus(const std::vector<std::string>& args, const std::filesystem::path& log) {
    std::vector<std::string> all{PLEXUS_TEST_BINARY};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = -1;
    posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    return pid;
}

inline int wait_exit(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// Processes (other than this test) whose command line mentions `marker`.
inline std::vector<pid_t> processes_mentioning(const std::string& marker) {
    std::vector<pid_t> found;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string cmdline = read_text(entry.path() / "cmdline");
        for (char& c : cmdline)
            if (c == '\0') c = ' ';
        const pid_t pid = std::stoi(name);
        // A zombie (dead, not yet reaped) has an empty command line, so it is not listed.
        if (pid != getpid() && cmdline.find(marker) != std::string::npos) found.push_back(pid);
    }
    return found;
}

/// Whether `pid` has ended (gone, dead, or a zombie waiting to be reaped).
inline bool process_ended(pid_t pid) {
    const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');
    return close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] == 'Z' ||
           stat[close + 2] == 'X';
}

/// Polls until `done` holds or `seconds` pass; returns whether it held.
template <class F>
bool wait_until(F done, double seconds) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
}

}  // namespace plexus::test
