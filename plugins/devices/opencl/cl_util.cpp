#include "cl_util.hpp"

#include <cstdio>

#include <fmt/format.h>

#include "plexus/error.hpp"

namespace plexus_opencl {

void fail(const std::string& message) { throw plexus::DeviceError("opencl: " + message); }

std::string error_name(cl_int code) {
    const char* name = nullptr;
    switch (code) {
#define PLEXUS_CL_CASE(c) \
    case c: name = #c; break;
        PLEXUS_CL_CASE(CL_DEVICE_NOT_FOUND)
        PLEXUS_CL_CASE(CL_DEVICE_NOT_AVAILABLE)
        PLEXUS_CL_CASE(CL_COMPILER_NOT_AVAILABLE)
        PLEXUS_CL_CASE(CL_MEM_OBJECT_ALLOCATION_FAILURE)
        PLEXUS_CL_CASE(CL_OUT_OF_RESOURCES)
        PLEXUS_CL_CASE(CL_OUT_OF_HOST_MEMORY)
        PLEXUS_CL_CASE(CL_BUILD_PROGRAM_FAILURE)
        PLEXUS_CL_CASE(CL_MEM_COPY_OVERLAP)
        PLEXUS_CL_CASE(CL_MISALIGNED_SUB_BUFFER_OFFSET)
        PLEXUS_CL_CASE(CL_INVALID_VALUE)
        PLEXUS_CL_CASE(CL_INVALID_DEVICE)
        PLEXUS_CL_CASE(CL_INVALID_CONTEXT)
        PLEXUS_CL_CASE(CL_INVALID_COMMAND_QUEUE)
        PLEXUS_CL_CASE(CL_INVALID_MEM_OBJECT)
        PLEXUS_CL_CASE(CL_INVALID_BINARY)
        PLEXUS_CL_CASE(CL_INVALID_BUILD_OPTIONS)
        PLEXUS_CL_CASE(CL_INVALID_PROGRAM)
        PLEXUS_CL_CASE(CL_INVALID_PROGRAM_EXECUTABLE)
        PLEXUS_CL_CASE(CL_INVALID_KERNEL_NAME)
        PLEXUS_CL_CASE(CL_INVALID_KERNEL)
        PLEXUS_CL_CASE(CL_INVALID_ARG_INDEX)
        PLEXUS_CL_CASE(CL_INVALID_ARG_VALUE)
        PLEXUS_CL_CASE(CL_INVALID_ARG_SIZE)
        PLEXUS_CL_CASE(CL_INVALID_KERNEL_ARGS)
        PLEXUS_CL_CASE(CL_INVALID_WORK_DIMENSION)
        PLEXUS_CL_CASE(CL_INVALID_WORK_GROUP_SIZE)
        PLEXUS_CL_CASE(CL_INVALID_WORK_ITEM_SIZE)
        PLEXUS_CL_CASE(CL_INVALID_GLOBAL_OFFSET)
        PLEXUS_CL_CASE(CL_INVALID_EVENT_WAIT_LIST)
        PLEXUS_CL_CASE(CL_INVALID_OPERATION)
        PLEXUS_CL_CASE(CL_INVALID_BUFFER_SIZE)
        PLEXUS_CL_CASE(CL_INVALID_GLOBAL_WORK_SIZE)
        PLEXUS_CL_CASE(CL_INVALID_PLATFORM)
        PLEXUS_CL_CASE(CL_INVALID_DEVICE_TYPE)
#undef PLEXUS_CL_CASE
        case -1001: name = "CL_PLATFORM_NOT_FOUND_KHR"; break;
        default: break;
    }
    return std::string(name ? name : "OpenCL error") + " (" + std::to_string(code) + ")";
}

bool is_out_of_memory(cl_int code) {
    return code == CL_MEM_OBJECT_ALLOCATION_FAILURE || code == CL_OUT_OF_RESOURCES ||
           code == CL_OUT_OF_HOST_MEMORY;
}

std::string format_bytes(std::size_t bytes) {
    const double b = static_cast<double>(bytes);
    if (bytes >= (std::size_t{1} << 30)) return fmt::format("{:.1f} GiB", b / (1 << 30));
    if (bytes >= (std::size_t{1} << 20)) return fmt::format("{:.1f} MiB", b / (1 << 20));
    return fmt::format("{} bytes", bytes);
}

}  // namespace plexus_opencl
