// Finding OpenCL devices: every device of every platform the ICD loader knows, numbered in
// that order (opencl:0, opencl:1, ...), and the process-wide setup done before the first
// OpenCL call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <CL/cl.h>

namespace plexus_opencl {

struct DeviceEntry {
    cl_platform_id platform = nullptr;
    cl_device_id device = nullptr;
    std::string platform_name, platform_version;
    std::string name, version, driver;
    cl_device_type type = 0;
    std::uint64_t memory = 0;         // CL_DEVICE_GLOBAL_MEM_SIZE
    std::uint64_t max_alloc = 0;      // CL_DEVICE_MAX_MEM_ALLOC_SIZE
    std::uint32_t compute_units = 0;
    std::size_t max_work_group = 1;
    bool fp64 = false;                // cl_khr_fp64: sums accumulate in double
    bool rounded_div_sqrt = false;    // -cl-fp32-correctly-rounded-divide-sqrt is allowed

    bool is_gpu() const { return (type & CL_DEVICE_TYPE_GPU) != 0; }
    /// "gpu", "cpu", "accelerator" or "other".
    std::string type_name() const;
};

/// Every device of every platform. Throws DeviceError(kNoDevice) when there is none (no ICD:
/// CL_PLATFORM_NOT_FOUND_KHR, or platforms without devices).
std::vector<DeviceEntry> enumerate_devices();

/// Where compiled programs are cached: $XDG_CACHE_HOME/plexus, else ~/.cache/plexus, created
/// if needed; empty when neither can be written (the device then runs without a cache).
std::filesystem::path cache_dir();

/// Sets POCL_CACHE_DIR to cache_dir()/pocl when it is unset, so PoCL's kernel cache works
/// without a writable default. Call before the first OpenCL call.
void prepare_environment();

}  // namespace plexus_opencl
