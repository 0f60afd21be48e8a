// The OpenCL C sources of kernels/*.cl, embedded at build time by embed_kernels.cmake.
#pragma once

#include <cstddef>

namespace plexus_opencl {

struct KernelSource {
    const char* file;  // "gemm.cl"
    const char* text;
};

// common.cl first, then the kernels in file-name order.
extern const KernelSource kKernelSources[];
extern const std::size_t kKernelSourceCount;

}  // namespace plexus_opencl
