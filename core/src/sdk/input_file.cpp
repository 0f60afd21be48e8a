#include "plexus/support/input_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <new>
#include <system_error>

#include "plexus/error.hpp"
#include "plexus/support/text.hpp"

namespace plexus::support {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
    throw DataError(printable(path.string(), kMaxShownPathBytes) + ": " + what);
}

// Why a path that exists cannot be read as data, or "" for a regular file.
std::string not_regular(mode_t mode) {
    if (S_ISREG(mode)) return "";
    if (S_ISDIR(mode)) return "cannot open (found a directory, expected a regular file)";
    if (S_ISFIFO(mode)) return "cannot open (is a FIFO, not a regular file)";
    if (S_ISCHR(mode)) return "cannot open (is a character device, not a regular file)";
    if (S_ISBLK(mode)) return "cannot open (is a block device, not a regular file)";
    if (S_ISSOCK(mode)) return "cannot open (is a socket, not a regular file)";
    return "cannot open (not a regular file)";
}

std::string reason(int err) {
    if (err == ENOENT) return "cannot open (no such file)";
    return "cannot open (" + std::generic_category().message(err) + ")";
}

}  // namespace

InputFile open_input_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
    // stat first: opening a device can have effects (a tape rewinds, a terminal becomes ours).
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) fail(path, reason(errno));
    if (const std::string why = not_regular(st.st_mode); !why.empty()) fail(path, why);
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) fail(path, reason(errno));
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        const int err = errno;
        ::close(fd);
        fail(path, S_ISREG(st.st_mode) ? reason(err) : not_regular(st.st_mode));
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size > max_bytes) {
        ::close(fd);
        fail(path, "file too large (" + std::to_string(size) + " bytes, at most " +
                       std::to_string(max_bytes) + " are read)");
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    InputFile out;
    out.stream.reset(::fdopen(fd, "rb"));
    if (!out.stream) {
        const int err = errno;
        ::close(fd);
        fail(path, reason(err));
    }
    out.size = size;
    return out;
}

std::string read_input_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
    InputFile f = open_input_file(path, max_bytes);
    std::string out;
    try {
        out.resize(static_cast<std::size_t>(f.size));
    } catch (const std::exception&) {  // bad_alloc, or length_error beyond max_size()
        fail(path, "out of memory while reading the file (" + std::to_string(f.size) + " bytes)");
    }
    const std::size_t got = std::fread(out.data(), 1, out.size(), f.stream.get());
    if (std::ferror(f.stream.get()))
        fail(path, "read error (" + std::generic_category().message(errno) + ")");
    if (got != out.size() || std::fgetc(f.stream.get()) != EOF)
        fail(path, "the file changed while it was read (another program is writing it?)");
    return out;
}

}  // namespace plexus::support
