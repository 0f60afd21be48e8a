// A dataset's uint8 samples: bytes of its own, or a read-only view of a file that Plexus
// itself wrote and never changes in place (an inflated copy in the cache folder), mapped
// instead of read. Reading model (a)'s 47 MB of training images into fresh memory cost 20-35 ms
// of every `plexus train` on 2 MiB pages (the kernel zeroes each page before the copy; on the
// development machine, a virtual machine, first touches are dear); mapping the file's pages
// from the page cache took 3 ms (session 15).
//
// Reading never copies. Anything that writes (a mutable data(), begin(), operator[], resize
// beyond the view, assign) first makes the bytes the array's own, so a mapped file is never
// written and copies that share a mapping never see each other's changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#pragma GCC visibility push(default)

namespace plexus::core {

class ByteArray {
public:
    using value_type = std::uint8_t;
    using iterator = std::uint8_t*;
    using const_iterator = const std::uint8_t*;

    ByteArray() = default;
    ByteArray(std::vector<std::uint8_t> bytes) : own_(std::move(bytes)) {}  // NOLINT: implicit
    ByteArray& operator=(std::vector<std::uint8_t> bytes) {
        own_ = std::move(bytes);
        mapping_.reset();
        return *this;
    }

    /// `size` bytes of `file` from byte `offset`, mapped read-only (MAP_PRIVATE, populated),
    /// when the file holds at least offset + size bytes; an empty array (nothing mapped) when
    /// it cannot be opened or mapped, so the caller reads it instead. Only for files nobody
    /// truncates while they are mapped: a mapping of a truncated file faults (SIGBUS).
    static ByteArray map_file(const std::filesystem::path& file, std::size_t offset,
                              std::size_t size);

    std::size_t size() const { return mapping_ ? size_ : own_.size(); }
    bool empty() const { return size() == 0; }
    /// Whether the bytes are a file's mapped pages (not yet made the array's own).
    bool mapped() const { return mapping_ != nullptr; }

    const std::uint8_t* data() const { return mapping_ ? view_ : own_.data(); }
    const std::uint8_t* begin() const { return data(); }
    const std::uint8_t* end() const { return data() + size(); }
    std::uint8_t operator[](std::size_t i) const { return data()[i]; }
    std::uint8_t back() const { return data()[size() - 1]; }

    std::uint8_t* data() { return own().data(); }
    std::uint8_t* begin() { return data(); }
    std::uint8_t* end() { return data() + size(); }
    std::uint8_t& operator[](std::size_t i) { return own()[i]; }

    /// Shrinking a mapped array shortens the view; growing makes the bytes its own (new bytes
    /// zero, as std::vector's).
    void resize(std::size_t n);
    void assign(std::size_t n, std::uint8_t value) { *this = std::vector<std::uint8_t>(n, value); }

private:
    struct Mapping;
    std::vector<std::uint8_t>& own();

    std::vector<std::uint8_t> own_;
    std::shared_ptr<const Mapping> mapping_;  // shared by copies; unmapped with the last
    const std::uint8_t* view_ = nullptr;      // into the mapping
    std::size_t size_ = 0;                    // of the view
};

/// Equal contents (owned or mapped alike).
bool operator==(const ByteArray& a, const ByteArray& b);

}  // namespace plexus::core

#pragma GCC visibility pop
