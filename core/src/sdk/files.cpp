#include "plexus/support/files.hpp"

#include <unistd.h>

#include <cstdio>
#include <system_error>

#include "plexus/error.hpp"

namespace plexus::support {

void write_file_atomic(const std::filesystem::path& path, const std::string& content) {
    const std::filesystem::path tmp =
        path.parent_path() / ("." + path.filename().string() + ".tmp" + std::to_string(::getpid()));
    {
        std::FILE* f = std::fopen(tmp.c_str(), "wb");
        if (!f)
            throw Error(path.string() + ": cannot write (check the folder exists and is writable)");
        const bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size() &&
                        std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
        if (std::fclose(f) != 0 || !ok) {
            std::remove(tmp.c_str());
            throw Error(path.string() + ": write failed (disk full?)");
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::remove(tmp.c_str());
        throw Error(path.string() + ": cannot replace: " + ec.message());
    }
}

void create_parent_folder(const std::string& who, const std::filesystem::path& path) {
    const std::filesystem::path parent = path.parent_path();
    if (parent.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) throw Error(who + ": cannot create folder '" + parent.string() + "': " + ec.message());
}

}  // namespace plexus::support
