// For the tests that build a plugin project the way a plugin author does (test_sdk_template,
// test_sdk_install): shell commands with captured output, and a CMake configure command that
// uses the same cmake, compiler, generator and flags as this build of Plexus.
#pragma once

#include <stdlib.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

namespace plexus::test {

inline std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

inline std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct Result {
    int exit_code = -1;  // -1: not run, killed by a signal, or system() failed
    std::string output;  // stdout and stderr together
};

/// Runs `command` through the shell with stdout and stderr captured to `log`.
inline Result run(const std::string& command, const std::filesystem::path& log) {
    Result r;
    const int status = std::system((command + " > " + quote(log.string()) + " 2>&1").c_str());
    if (status != -1 && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    r.output = read_text(log);
    return r;
}

/// A new folder under the temp directory named `prefix` + a random suffix.
inline std::filesystem::path make_temp_folder(const std::string& prefix) {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    return pattern;
}

/// A value from `build_dir`/CMakeCache.txt ("KEY:TYPE=VALUE").
inline std::optional<std::string> cache_value(const std::filesystem::path& build_dir,
                                              const std::string& key) {
    std::ifstream in(build_dir / "CMakeCache.txt");
    for (std::string line; std::getline(in, line);) {
        const auto colon = line.find(':');
        const auto eq = line.find('=');
        if (colon != std::string::npos && eq != std::string::npos && colon < eq &&
            line.compare(0, colon, key) == 0 && colon == key.size())
            return line.substr(eq + 1);
    }
    return std::nullopt;
}

/// The cmake of the build in `plexus_build`.
inline std::string cmake_of(const std::filesystem::path& plexus_build) {
    return quote(cache_value(plexus_build, "CMAKE_COMMAND").value_or("cmake"));
}

/// The ctest beside the cmake of the build in `plexus_build`.
inline std::string ctest_of(const std::filesystem::path& plexus_build) {
    const auto cmake = cache_value(plexus_build, "CMAKE_COMMAND");
    return cmake ? quote((std::filesystem::path(*cmake).parent_path() / "ctest").string())
                 : "ctest";
}

/// `cmake -S source -B build` for a Release Ninja build with the compiler, make program and
/// flags of the Plexus build in `plexus_build`, so the plugin matches the Plexus it loads into.
/// `extra` is appended (e.g. " -DPlexus_DIR=...").
inline std::string configure_command(const std::filesystem::path& plexus_build,
                                     const std::filesystem::path& source,
                                     const std::filesystem::path& build, const std::string& extra) {
    std::string flags = cache_value(plexus_build, "CMAKE_CXX_FLAGS").value_or("");
    std::string link_flags;
#if defined(__SANITIZE_ADDRESS__)
    // A sanitized libplexus_core.so needs the sanitizer runtime first in the executable that
    // links it; mirror cmake/Sanitizers.cmake.
    flags +=
        " -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined";
    link_flags = "-fsanitize=address,undefined";
#endif
    std::string command = cmake_of(plexus_build) + " -S " + quote(source.string()) + " -B " +
                          quote(build.string()) + " -G Ninja -DCMAKE_BUILD_TYPE=Release";
    if (auto cxx = cache_value(plexus_build, "CMAKE_CXX_COMPILER"))
        command += " -DCMAKE_CXX_COMPILER=" + quote(*cxx);
    if (auto ninja = cache_value(plexus_build, "CMAKE_MAKE_PROGRAM"))
        command += " -DCMAKE_MAKE_PROGRAM=" + quote(*ninja);
    if (!flags.empty()) command += " -DCMAKE_CXX_FLAGS=" + quote(flags);
    if (!link_flags.empty())
        command += " -DCMAKE_EXE_LINKER_FLAGS=" + quote(link_flags) +
                   " -DCMAKE_MODULE_LINKER_FLAGS=" + quote(link_flags);
    return command + extra;
}

}  // namespace plexus::test
