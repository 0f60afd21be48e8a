#include "platforms.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <system_error>

#include "cl_util.hpp"

namespace fs = std::filesystem;

namespace plexus_opencl {
namespace {

std::string platform_text(cl_platform_id platform, cl_platform_info what) {
    std::size_t size = 0;
    if (clGetPlatformInfo(platform, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return {};
    std::string text(size, '\0');
    if (clGetPlatformInfo(platform, what, size, text.data(), nullptr) != CL_SUCCESS) return {};
    text.resize(std::strlen(text.c_str()));
    return text;
}

std::string device_text(cl_device_id device, cl_device_info what) {
    std::size_t size = 0;
    if (clGetDeviceInfo(device, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return {};
    std::string text(size, '\0');
    if (clGetDeviceInfo(device, what, size, text.data(), nullptr) != CL_SUCCESS) return {};
    text.resize(std::strlen(text.c_str()));
    return text;
}

template <class T>
T device_value(cl_device_id device, cl_device_info what) {
    T value{};
    if (clGetDeviceInfo(device, what, sizeof value, &value, nullptr) != CL_SUCCESS) return T{};
    return value;
}

bool writable_folder(const fs::path& folder) {
    std::error_code ec;
    fs::create_directories(folder, ec);
    return fs::is_directory(folder, ec) && ::access(folder.c_str(), W_OK | X_OK) == 0;
}

}  // namespace

std::string DeviceEntry::type_name() const {
    if (type & CL_DEVICE_TYPE_GPU) return "gpu";
    if (type & CL_DEVICE_TYPE_CPU) return "cpu";
    if (type & CL_DEVICE_TYPE_ACCELERATOR) return "accelerator";
    return "other";
}

std::vector<DeviceEntry> enumerate_devices() {
    prepare_environment();
    cl_uint platform_count = 0;
    // No ICD at all: the loader answers CL_PLATFORM_NOT_FOUND_KHR (-1001).
    if (clGetPlatformIDs(0, nullptr, &platform_count) != CL_SUCCESS || platform_count == 0)
        fail(kNoDevice);
    std::vector<cl_platform_id> platforms(platform_count);
    if (clGetPlatformIDs(platform_count, platforms.data(), nullptr) != CL_SUCCESS) fail(kNoDevice);

    std::vector<DeviceEntry> out;
    for (cl_platform_id platform : platforms) {
        cl_uint count = 0;
        if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, nullptr, &count) != CL_SUCCESS ||
            count == 0)
            continue;  // CL_DEVICE_NOT_FOUND: a platform without devices is skipped
        std::vector<cl_device_id> devices(count);
        if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, count, devices.data(), nullptr) !=
            CL_SUCCESS)
            continue;
        for (cl_device_id device : devices) {
            DeviceEntry e;
            e.platform = platform;
            e.device = device;
            e.platform_name = platform_text(platform, CL_PLATFORM_NAME);
            e.platform_version = platform_text(platform, CL_PLATFORM_VERSION);
            e.name = device_text(device, CL_DEVICE_NAME);
            e.version = device_text(device, CL_DEVICE_VERSION);
            e.driver = device_text(device, CL_DRIVER_VERSION);
            e.type = device_value<cl_device_type>(device, CL_DEVICE_TYPE);
            e.memory = device_value<cl_ulong>(device, CL_DEVICE_GLOBAL_MEM_SIZE);
            e.max_alloc = device_value<cl_ulong>(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
            e.compute_units = device_value<cl_uint>(device, CL_DEVICE_MAX_COMPUTE_UNITS);
            e.max_work_group = device_value<std::size_t>(device, CL_DEVICE_MAX_WORK_GROUP_SIZE);
            e.fp64 = device_text(device, CL_DEVICE_EXTENSIONS).find("cl_khr_fp64") !=
                     std::string::npos;
            e.rounded_div_sqrt = (device_value<cl_device_fp_config>(
                                      device, CL_DEVICE_SINGLE_FP_CONFIG) &
                                  CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;
            out.push_back(std::move(e));
        }
    }
    if (out.empty()) fail(kNoDevice);
    return out;
}

fs::path cache_dir() {
    fs::path base;
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg == '/')
        base = fs::path(xdg) / "plexus";
    else if (const char* home = std::getenv("HOME"); home && *home == '/')
        base = fs::path(home) / ".cache" / "plexus";
    else
        return {};
    return writable_folder(base) ? base : fs::path();
}

void prepare_environment() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (std::getenv("POCL_CACHE_DIR")) return;
        const fs::path base = cache_dir();
        if (base.empty()) return;
        const fs::path pocl = base / "pocl";
        if (writable_folder(pocl)) ::setenv("POCL_CACHE_DIR", pocl.c_str(), 0);
    });
}

}  // namespace plexus_opencl
