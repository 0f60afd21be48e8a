#include "plexus/support/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <system_error>

#include "plexus/error.hpp"

namespace plexus::support {
namespace {

const char* kind_of(mode_t mode) {
    if (S_ISDIR(mode)) return "a folder";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISLNK(mode)) return "a symbolic link";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

bool write_all(int fd, std::span<const std::string_view> pieces) {
    for (const std::string_view piece : pieces) {
        const char* at = piece.data();
        std::size_t left = piece.size();
        while (left > 0) {
            const ssize_t n = ::write(fd, at, left);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            at += n;
            left -= static_cast<std::size_t>(n);
        }
    }
    return ::fsync(fd) == 0;
}

/// Gives the anonymous O_TMPFILE file `fd` the name `tmp`; a file of that name left by a
/// killed writer with the same process id goes first.
bool link_as(int fd, const std::filesystem::path& tmp) {
    const std::string self = "/proc/self/fd/" + std::to_string(fd);
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, tmp.c_str(), AT_SYMLINK_FOLLOW) == 0)
            return true;
        if (errno != EEXIST) return false;
        ::unlink(tmp.c_str());
    }
    return false;
}

// Set once, on the ranks of an MPI run other than rank 0 (communicator.hpp).
std::atomic<bool> discarding{false};

}  // namespace

void write_file_atomic(const std::filesystem::path& path, const std::string& content) {
    const std::string_view piece = content;
    write_file_atomic(path, std::span<const std::string_view>(&piece, 1));
}

void write_file_atomic(const std::filesystem::path& path,
                       std::span<const std::string_view> content) {
    if (discarding.load(std::memory_order_relaxed)) return;
    // rename() would replace whatever is there: a device node (/dev/full), a FIFO, a link.
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        throw Error(path.string() + ": is " + kind_of(st.st_mode) +
                    ", and outputs only replace regular files: give the path of a file");
    const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
    // The content goes to an unnamed file (O_TMPFILE) that gets its temporary name only once
    // complete and synced, right before the rename: a writer killed while writing leaves
    // nothing behind. The name is per process, so writers of the same target in parallel
    // (study workers) never take each other's file.
    const std::filesystem::path tmp =
        dir / ("." + path.filename().string() + ".tmp" + std::to_string(::getpid()));
    bool named = false;
    int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
    if (fd >= 0) {
        const bool written = write_all(fd, content);
        if (!written) {
            ::close(fd);
            throw Error(path.string() + ": write failed (disk full?)");
        }
        named = link_as(fd, tmp);
        ::close(fd);
    }
    if (!named) {  // no O_TMPFILE on this file system, or no /proc: a named temporary file
        ::unlink(tmp.c_str());
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0)
            throw Error(path.string() + ": cannot write (check the folder exists and is writable)");
        const bool written = write_all(fd, content);
        if (::close(fd) != 0 || !written) {
            ::unlink(tmp.c_str());
            throw Error(path.string() + ": write failed (disk full?)");
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        ::unlink(tmp.c_str());
        throw Error(path.string() + ": cannot replace: " + ec.message());
    }
}

void create_parent_folder(const std::string& who, const std::filesystem::path& path) {
    if (discarding.load(std::memory_order_relaxed)) return;
    const std::filesystem::path parent = path.parent_path();
    if (parent.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) throw Error(who + ": cannot create folder '" + parent.string() + "': " + ec.message());
}

}  // namespace plexus::support

namespace plexus::core {

// Declared in plexus/core/training/communicator.hpp, above this layer.
PLEXUS_API void discard_file_writes() {
    support::discarding.store(true, std::memory_order_relaxed);
}

}  // namespace plexus::core
