// Large host buffers on 2 MiB pages (transparent huge pages in madvise mode, Debian's
// default). On the development machine (a virtual machine) touching a fresh 4 KiB page cost
// about 50 µs: 64 MB took 0.74-1.1 s to fill the first time and 17-27 ms on 2 MiB pages. A
// batch buffer, a transform buffer or a dataset is touched first while the user waits
// (`plexus evaluate`'s first batch, a run's start-up), so those ask for huge pages.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

namespace plexus::core {

inline constexpr std::size_t kHugePage = std::size_t{2} << 20;

/// Asks for 2 MiB pages over the whole 2 MiB blocks inside [p, p + n). Advice only: nothing
/// changes where the kernel refuses it.
inline void advise_huge_pages(void* p, std::size_t n) {
#ifdef MADV_HUGEPAGE
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t begin = (at + kHugePage - 1) & ~(kHugePage - 1);
    const std::uintptr_t end = (at + n) & ~(kHugePage - 1);
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

/// A std::allocator that places blocks of at least one huge page on 2 MiB boundaries and
/// advises huge pages for them, before anything touches them; smaller blocks are plain.
template <class T>
struct HugePageAllocator {
    using value_type = T;
    HugePageAllocator() = default;
    template <class U>
    HugePageAllocator(const HugePageAllocator<U>&) noexcept {}

    T* allocate(std::size_t n) {
        if (n > SIZE_MAX / sizeof(T)) throw std::bad_array_new_length();
        const std::size_t bytes = n * sizeof(T);
        if (bytes < kHugePage) return static_cast<T*>(::operator new(bytes));
        const std::size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
        void* p = std::aligned_alloc(kHugePage, rounded);
        if (!p) throw std::bad_alloc();
        advise_huge_pages(p, rounded);
        return static_cast<T*>(p);
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if (n * sizeof(T) < kHugePage)
            ::operator delete(p);
        else
            std::free(p);
    }
    template <class U>
    bool operator==(const HugePageAllocator<U>&) const noexcept {
        return true;
    }
};

/// A float buffer that a hot path touches first.
using HugeFloats = std::vector<float, HugePageAllocator<float>>;

}  // namespace plexus::core
