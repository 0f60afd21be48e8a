// Runs the plexus binary for end-to-end tests and captures what it printed.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "temp_dir.hpp"

namespace plexus::test {

struct CommandResult {
    int exit_code = -1;
    std::string out, err;
};

inline std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// Runs `plexus ARGS` (or another copy of the binary) through the shell (ARGS is shell text), capturing stdout and stderr.
inline CommandResult run_plexus(const std::string& args, const std::string& env = {},
                                const std::string& binary = PLEXUS_TEST_BINARY) {
    static int counter = 0;
    const auto base = std::filesystem::temp_directory_path() /
                      ("plexus-cli-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    const std::string cmd = env + " '" + binary + "' " + args + " > '" + base.string() +
                            ".out' 2> '" + base.string() + ".err' < /dev/null";
    const int status = std::system(cmd.c_str());
    CommandResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = read_text(base.string() + ".out");
    r.err = read_text(base.string() + ".err");
    std::filesystem::remove(base.string() + ".out");
    std::filesystem::remove(base.string() + ".err");
    return r;
}

}  // namespace plexus::test
