// Error helpers and preconditions shared by the CPU device's ops; only plugin.cpp includes
// this (see there for why the functions are static).
//
// Errors are built out of line so the checks on the hot path stay a compare and a branch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "plexus/error.hpp"
#include "plexus/tensor.hpp"

namespace plexus_cpu {

[[noreturn, gnu::cold, gnu::noinline]] static void fail(const std::string& message) {
    throw plexus::DeviceError("cpu: " + message);
}

[[noreturn, gnu::cold, gnu::noinline]] static void fail_foreign(const char* op, const char* what) {
    fail(std::string(op) + ": tensor '" + what +
         "' is empty or lives on another device; allocate it with this device's alloc()");
}

[[noreturn, gnu::cold, gnu::noinline]] static void fail_size(const char* op, const char* what,
                                                             const plexus::Shape& shape,
                                                             std::size_t want) {
    fail(std::string(op) + ": '" + what + "' has shape " + shape.str() + " (" +
         std::to_string(shape.numel()) + " elements) but " + std::to_string(want) +
         " elements are required");
}

static void require_numel(const char* op, const char* what, const plexus::Tensor& t,
                          std::size_t want) {
    if (t.numel() != want) [[unlikely]]
        fail_size(op, what, t.shape(), want);
}

// The floats of `t`, which must have been allocated by `device`.
static float* tensor_data(const plexus::Device* device, const plexus::Tensor& t, const char* op,
                          const char* what) {
    if (t.device() != device) [[unlikely]]
        fail_foreign(op, what);
    return static_cast<float*>(t.handle()) + t.offset();
}

static bool overlaps(const float* p, std::size_t n, const float* q, std::size_t m) {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    const auto b = reinterpret_cast<std::uintptr_t>(q);
    return n && m && a < b + m * sizeof(float) && b < a + n * sizeof(float);
}

// Subnormals (e.g. Adam's decaying moments) cost ~100 cycles per operation on x86; flushing
// them is worth 15 %–2× on the training runs measured when this was added. MXCSR is per
// thread and reading it is cheap, so every op makes sure the thread running it flushes,
// whichever thread that is.
static void flush_subnormals() {
#if defined(__SSE__)
    constexpr unsigned kFtzDaz = 0x8040;  // FTZ (bit 15) | DAZ (bit 6)
    const unsigned csr = _mm_getcsr();
    if ((csr & kFtzDaz) != kFtzDaz) [[unlikely]]
        _mm_setcsr(csr | kFtzDaz);
#endif
}

}  // namespace plexus_cpu
