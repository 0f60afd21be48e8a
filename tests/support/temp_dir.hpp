// A fresh folder under the temp directory for one test, removed at scope exit.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace plexus::test {

struct TempDir {
    std::filesystem::path path;
    explicit TempDir(const std::string& tag = "test") {
        static int counter = 0;
        path = std::filesystem::temp_directory_path() /
               ("plexus-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
        // Never writable by others, whatever the umask: the plugin loader refuses such folders.
        std::filesystem::permissions(path, std::filesystem::perms::others_write,
                                     std::filesystem::perm_options::remove);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::filesystem::path operator/(const std::string& name) const { return path / name; }
};

}  // namespace plexus::test
