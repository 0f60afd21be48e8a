#include "plexus/core/files.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>

#include "plexus/error.hpp"

namespace plexus::core {

void write_file_atomic(const std::filesystem::path& path, const std::string& content) {
    const std::filesystem::path tmp =
        path.parent_path() / ("." + path.filename().string() + ".tmp" + std::to_string(::getpid()));
    {
        std::FILE* f = std::fopen(tmp.c_str(), "wb");
        if (!f) throw Error(path.string() + ": cannot write (check the folder exists and is writable)");
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

namespace {
std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) {
    g_interrupted.store(true);
    std::signal(SIGINT, SIG_DFL);
}
}  // namespace

void request_interrupt() noexcept { g_interrupted.store(true); }
bool interrupt_requested() noexcept { return g_interrupted.load(std::memory_order_relaxed); }
void install_interrupt_handler() { std::signal(SIGINT, on_sigint); }

}  // namespace plexus::core
