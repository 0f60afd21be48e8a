// The interface between the cpu device and its optional oneDNN module (onednn_conv.cpp,
// built as plexus_cpu_onednn.so in the folder above the plugins' when CMake finds
// oneDNN). The device loads the module with dlopen rather than linking oneDNN, so that it
// can set OMP_WAIT_POLICY before oneDNN's OpenMP runtime (libgomp) reads it at load time:
// see onednn.hpp.
//
// Both sides are built together from this header, so a C++ interface is safe; only the one
// entry point is looked up by name.
#pragma once

#include <cstddef>

namespace plexus_onednn {

/// One convolution's geometry: NCHW x [n, c, h, w], OIHW kernel [f, c, kh, kw], y [n, f, oh,
/// ow]; stride, dilation (1 = dense taps) and the padding before the input, as Window2d.
struct ConvShape {
    std::size_t n, c, h, w, f, kh, kw, sh, sw, dh, dw, pad_top, pad_left, oh, ow;
    bool operator==(const ConvShape&) const = default;
};

/// The primitives, blocked-layout buffers and reorders of one ConvShape, created once.
/// Pointers are to NCHW / OIHW float arrays of the shape's sizes; null where documented.
/// Neither call allocates memory; both throw std::runtime_error on a oneDNN failure.
class ConvPlan {
public:
    virtual ~ConvPlan() = default;
    /// y = conv(x, kernel) + bias; bias null means none.
    virtual void forward(const float* x, const float* kernel, const float* bias, float* y) = 0;
    /// dx (null: skipped), dkernel and dbias (null: skipped; dbias needs dkernel) of the
    /// convolution for dy.
    virtual void backward(const float* x, const float* kernel, const float* dy, float* dx,
                          float* dkernel, float* dbias) = 0;
};

/// The module's entry point, `plexus_onednn_create` (extern "C"): a new plan for `shape`, or
/// null with the reason in `error` (NUL-terminated, at most error_size bytes).
using CreateFn = ConvPlan* (*)(const ConvShape& shape, int threads, char* error,
                               std::size_t error_size);
inline constexpr const char* kCreateSymbol = "plexus_onednn_create";

/// The module's `plexus_onednn_sgemm` (extern "C"): row-major c = alpha op(a) op(b) + beta c
/// (transa/transb 'N' or 'T', leading dimensions in elements, as dnnl_sgemm) on `threads`
/// OpenMP threads. Returns 0 on success, else oneDNN's status; never throws.
using SgemmFn = int (*)(char transa, char transb, long m, long n, long k, float alpha,
                        const float* a, long lda, const float* b, long ldb, float beta, float* c,
                        long ldc, int threads);
inline constexpr const char* kSgemmSymbol = "plexus_onednn_sgemm";
// The module's path from the folder of the device plugin.
inline constexpr const char* kModuleName = "../plexus_cpu_onednn.so";

}  // namespace plexus_onednn
