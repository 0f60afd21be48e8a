#include "program_cache.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <system_error>

#include <fmt/format.h>

#include "cl_util.hpp"

namespace fs = std::filesystem;

namespace plexus_opencl {
namespace {

// Bump when the cache layout or anything else outside the hashed inputs changes.
constexpr const char* kCacheVersion = "plexus-opencl-program-v1";

struct Fnv1a {
    std::uint64_t h = 0xcbf29ce484222325ull;
    void add(const std::string& s) {
        for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
        h = (h ^ 0xff) * 0x100000001b3ull;  // a separator, so "ab"+"c" differs from "a"+"bc"
    }
};

std::string build_log(cl_program program, cl_device_id device) {
    std::size_t size = 0;
    clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size);
    std::string log(size, '\0');
    if (size) clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, log.data(), nullptr);
    while (!log.empty() && (log.back() == '\0' || log.back() == '\n' || log.back() == ' '))
        log.pop_back();
    return log;
}

std::vector<unsigned char> read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Written to a temporary file and renamed, so a concurrent run never reads half a binary.
void write_file(const fs::path& path, const std::vector<unsigned char>& bytes) {
    const fs::path tmp = path.string() + ".tmp" + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) return;
        out.write(reinterpret_cast<const char*>(bytes.data()),
                  static_cast<std::streamsize>(bytes.size()));
        if (!out) {
            out.close();
            std::error_code ec;
            fs::remove(tmp, ec);
            return;
        }
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) fs::remove(tmp, ec);
}

std::vector<unsigned char> program_binary(cl_program program) {
    std::size_t size = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, nullptr) !=
            CL_SUCCESS ||
        size == 0)
        return {};
    std::vector<unsigned char> bytes(size);
    unsigned char* pointer = bytes.data();
    if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof pointer, &pointer, nullptr) !=
        CL_SUCCESS)
        return {};
    return bytes;
}

// A program from a cached binary, or nullptr when there is none or it does not build.
cl_program from_binary(cl_context context, const DeviceEntry& entry, const fs::path& file,
                       const std::string& options) {
    const std::vector<unsigned char> bytes = read_file(file);
    if (bytes.empty()) return nullptr;
    const unsigned char* pointer = bytes.data();
    const std::size_t size = bytes.size();
    cl_int status = CL_SUCCESS, err = CL_SUCCESS;
    cl_program program =
        clCreateProgramWithBinary(context, 1, &entry.device, &size, &pointer, &status, &err);
    if (err == CL_SUCCESS && status == CL_SUCCESS &&
        clBuildProgram(program, 1, &entry.device, options.c_str(), nullptr, nullptr) == CL_SUCCESS)
        return program;
    if (program) clReleaseProgram(program);
    std::error_code ec;
    fs::remove(file, ec);  // stale (another driver version) or corrupt: rebuild and replace
    return nullptr;
}

}  // namespace

fs::path cache_file(const fs::path& cache_folder, const DeviceEntry& entry,
                    const std::vector<std::string>& sources, const std::string& options) {
    Fnv1a h;
    for (const std::string& part : {std::string(kCacheVersion), entry.platform_name,
                                    entry.platform_version, entry.name, entry.version,
                                    entry.driver, options})
        h.add(part);
    for (const auto& s : sources) h.add(s);
    return cache_folder / fmt::format("{:016x}.bin", static_cast<unsigned long long>(h.h));
}

BuiltProgram build_program(cl_context context, const DeviceEntry& entry,
                           const std::vector<std::string>& sources, const std::string& options,
                           const fs::path& cache_folder) {
    const auto start = std::chrono::steady_clock::now();
    const auto elapsed = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    BuiltProgram built;
    fs::path file;
    if (!cache_folder.empty()) {
        std::error_code ec;
        fs::create_directories(cache_folder, ec);
        file = cache_file(cache_folder, entry, sources, options);
        if ((built.program = from_binary(context, entry, file, options))) {
            built.from_cache = true;
            built.seconds = elapsed();
            return built;
        }
    }

    std::vector<const char*> texts;
    std::vector<std::size_t> lengths;
    for (const auto& s : sources) {
        texts.push_back(s.c_str());
        lengths.push_back(s.size());
    }
    cl_int err = CL_SUCCESS;
    cl_program program = clCreateProgramWithSource(context, static_cast<cl_uint>(texts.size()),
                                                   texts.data(), lengths.data(), &err);
    check(err, "clCreateProgramWithSource");
    err = clBuildProgram(program, 1, &entry.device, options.c_str(), nullptr, nullptr);
    if (err != CL_SUCCESS) {
        const std::string log = build_log(program, entry.device);
        clReleaseProgram(program);
        // The message quotes the log's start (it crosses the plugin boundary in a fixed
        // buffer); the whole log goes beside the cache when there is one.
        std::string where;
        if (!file.empty()) {
            const fs::path log_file = fs::path(file).replace_extension(".log");
            write_file(log_file, std::vector<unsigned char>(log.begin(), log.end()));
            if (fs::exists(log_file)) where = " (whole log: " + log_file.string() + ")";
        }
        constexpr std::size_t kQuoted = 2000;
        fail("building the kernels for " + entry.name + " failed (" + error_name(err) + ")" +
             where + "; build log:\n" +
             (log.empty() ? "(empty)" : log.size() > kQuoted ? log.substr(0, kQuoted) + "..." : log));
    }
    if (!file.empty()) write_file(file, program_binary(program));
    built.program = program;
    built.seconds = elapsed();
    return built;
}

}  // namespace plexus_opencl
