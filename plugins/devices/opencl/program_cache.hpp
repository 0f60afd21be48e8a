// Building the device's program, with our own cache of program binaries keyed by the device,
// its driver, the build options and the sources, so a second run skips the compiler.
//
// The cache is best effort: a missing, unwritable, stale or corrupt cache only costs a build
// from source, never a failure.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <CL/cl.h>

#include "platforms.hpp"

namespace plexus_opencl {

struct BuiltProgram {
    cl_program program = nullptr;  // owned by the caller (clReleaseProgram)
    bool from_cache = false;
    double seconds = 0.0;          // time spent creating and building it
};

/// Builds `sources` (concatenated, in order) with `options` for `entry` in `context`, from
/// cache_folder's binary when one matches (cache_folder empty: no cache). A failed build
/// throws DeviceError with the compiler's build log.
BuiltProgram build_program(cl_context context, const DeviceEntry& entry,
                           const std::vector<std::string>& sources, const std::string& options,
                           const std::filesystem::path& cache_folder);

/// The cache file build_program uses for these inputs (FNV-1a 64 of everything that affects
/// the binary).
std::filesystem::path cache_file(const std::filesystem::path& cache_folder,
                                 const DeviceEntry& entry, const std::vector<std::string>& sources,
                                 const std::string& options);

}  // namespace plexus_opencl
