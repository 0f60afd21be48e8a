// Errors of the OpenCL device: every failure becomes a one-line plexus::DeviceError starting
// "opencl: " that says what failed and what to do.
#pragma once

#include <cstddef>
#include <string>

#include <CL/cl.h>

namespace plexus_opencl {

/// What a machine without a usable OpenCL driver (or with no device behind it) is told.
inline constexpr const char* kNoDevice =
    "no OpenCL device found: install an ICD \u2014 pocl-opencl-icd for CPUs, the NVIDIA/AMD "
    "driver for GPUs";

/// Throws plexus::DeviceError("opencl: " + message).
[[noreturn, gnu::cold]] void fail(const std::string& message);

/// "CL_OUT_OF_RESOURCES (-5)".
std::string error_name(cl_int code);

/// True for the codes a driver returns when device memory runs out.
bool is_out_of_memory(cl_int code);

/// Fails with "<what>: CL_... (code)" unless code is CL_SUCCESS.
inline void check(cl_int code, const char* what) {
    if (code != CL_SUCCESS) [[unlikely]]
        fail(std::string(what) + ": " + error_name(code));
}

/// "1.5 GiB", "12 MiB", "300 bytes".
std::string format_bytes(std::size_t bytes);

}  // namespace plexus_opencl
