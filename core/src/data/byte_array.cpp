// ByteArray (byte_array.hpp): owned bytes or a populated read-only file mapping.
#include "plexus/core/data/byte_array.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace plexus::core {

struct ByteArray::Mapping {
    void* base = nullptr;
    std::size_t length = 0;
    Mapping(void* b, std::size_t n) : base(b), length(n) {}
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    ~Mapping() { ::munmap(base, length); }
};

ByteArray ByteArray::map_file(const std::filesystem::path& file, std::size_t offset,
                              std::size_t size) {
    ByteArray out;
    if (size == 0) return out;
    // Non-blocking: opening a FIFO for reading would wait for a writer.
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return out;
    struct stat st {};
    const bool whole = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
                       offset <= static_cast<std::size_t>(st.st_size) &&
                       size <= static_cast<std::size_t>(st.st_size) - offset;
    void* base = MAP_FAILED;
    const std::size_t length = offset + size;
    if (whole) base = ::mmap(nullptr, length, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    ::close(fd);  // the mapping keeps the file
    if (base == MAP_FAILED) return out;
    try {
        out.mapping_ = std::make_shared<const Mapping>(base, length);
    } catch (...) {
        ::munmap(base, length);
        throw;
    }
    out.view_ = static_cast<const std::uint8_t*>(base) + offset;
    out.size_ = size;
    return out;
}

std::vector<std::uint8_t>& ByteArray::own() {
    if (mapping_) {
        own_.assign(view_, view_ + size_);
        mapping_.reset();
        view_ = nullptr;
        size_ = 0;
    }
    return own_;
}

void ByteArray::resize(std::size_t n) {
    if (mapping_ && n <= size_)
        size_ = n;
    else
        own().resize(n);
}

bool operator==(const ByteArray& a, const ByteArray& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

}  // namespace plexus::core
