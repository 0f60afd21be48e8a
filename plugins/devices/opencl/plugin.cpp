// OpenCL device: every primitive op and the fused training kernels as OpenCL C 1.2 kernels
// (kernels/*.cl, one kernel per file, embedded at build time), so the same experiments run
// on GPUs through their vendors' drivers and on CPUs through PoCL. Tensors live in device
// buffers for their whole life; only upload() and download() cross to the host, and ops are
// queued asynchronously on one in-order queue.
//
// This file: device selection, the program build, kernel launching, memory and the plugin's
// exports. The ops are in ops.cpp, GEMM in gemm.cpp, the fused kernels in fused.cpp.
#include <algorithm>
#include <bit>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cl_util.hpp"
#include "kernel_sources.hpp"
#include "opencl_device.hpp"
#include "platforms.hpp"
#include "plexus/plugin.hpp"
#include "program_cache.hpp"

namespace plexus_opencl {
namespace {

constexpr const char* kKernelNames[] = {
    "fill",    "unary", "binary",           "axpby",
    "reduce_rows", "reduce_cols", "softmax", "softmax_backward",
    "random",  "gemm",  "gemm_direct", "batchnorm_forward", "batchnorm_backward",
    "softmax_cross_entropy_backward", "adam_update", "sgd_momentum_update", "im2col", "col2im",
    "pool2d", "pool2d_backward", "transpose", "lstm_cell_forward", "lstm_cell_backward",
    "gru_cell_forward", "gru_cell_backward"};
static_assert(std::size(kKernelNames) == static_cast<std::size_t>(Kernel::count));

constexpr plexus::ParamSpec kParams[] = {
    {"device", plexus::ParamType::integer, "0", 0, 1024, nullptr,
     "which OpenCL device, numbered over all platforms as `plexus devices` lists them "
     "(--device opencl:N sets it)"},
    {"gemm", plexus::ParamType::choice, "auto", 0, 0, "auto|clblast|tiled|direct",
     "GEMM kernel: auto = CLBlast on GPUs when the plugin was built with it, else our tiled "
     "kernel on GPUs; on CPUs our direct kernel, and the tiled one for GEMMs of 256 or more "
     "each way; or one of them by name"},
    {"gemm_tile", plexus::ParamType::integer, "128", 64, 128, nullptr,
     "side of the tiles of C that the own tiled GEMM (gemm=tiled) gives each work-group: 64 "
     "or 128; larger tiles reuse more data, smaller ones keep more work-groups busy"},
    {"cache", plexus::ParamType::boolean, "true", 0, 0, nullptr,
     "cache compiled kernels in $XDG_CACHE_HOME/plexus (else ~/.cache/plexus), so later runs "
     "start without compiling"},
    {"overlap_uploads", plexus::ParamType::boolean, "true", 0, 0, nullptr,
     "queue uploads from pinned staging buffers without waiting for the kernels before them; "
     "false makes every upload wait (to measure what overlapping gains)"},
};

std::string device_list_text(const std::vector<DeviceEntry>& devices) {
    std::string text;
    for (std::size_t i = 0; i < devices.size(); ++i)
        text += (i ? ", " : "") + ("opencl:" + std::to_string(i)) + " = " + devices[i].name +
                " (" + devices[i].platform_name + ")";
    return text;
}

std::size_t floor_pow2(std::size_t n) { return n ? std::bit_floor(n) : 1; }

}  // namespace

OpenClDevice::OpenClDevice(const plexus::Params& params) {
    try {
        setup(params);
    } catch (...) {
        release();  // a constructor that throws gets no destructor
        throw;
    }
}

void OpenClDevice::setup(const plexus::Params& params) {
    const std::vector<DeviceEntry> devices = enumerate_devices();
    index_ = static_cast<std::size_t>(params.get_int("device"));
    if (index_ >= devices.size())
        fail("no device opencl:" + std::to_string(index_) + "; there " +
             (devices.size() == 1 ? "is " : "are ") + device_list_text(devices) +
             " (see `plexus devices`)");
    entry_ = devices[index_];

    overlap_uploads_ = params.get_bool("overlap_uploads");
    const std::string gemm = params.get_string("gemm");
    own_gemm_ = gemm == "tiled"                       ? GemmChoice::tiled
                : gemm == "direct"                    ? GemmChoice::direct
                : entry_.is_gpu() || gemm == "clblast" ? GemmChoice::tiled
                                                      : GemmChoice::direct;
    direct_small_only_ = gemm == "auto" && own_gemm_ == GemmChoice::direct;
    gemm_ = own_gemm_;
#ifdef PLEXUS_HAVE_CLBLAST
    if (gemm == "clblast" || (gemm == "auto" && entry_.is_gpu())) gemm_ = GemmChoice::clblast;
#else
    if (gemm == "clblast")
        fail("gemm=clblast: this plugin was built without CLBlast (install libclblast-dev and "
             "rebuild), or use gemm=auto");
#endif

    cl_int err = CL_SUCCESS;
    context_ = clCreateContext(nullptr, 1, &entry_.device, nullptr, nullptr, &err);
    check(err, ("creating a context on " + entry_.name).c_str());
    queue_ = clCreateCommandQueue(context_, entry_.device, 0, &err);
    check(err, ("creating a command queue on " + entry_.name).c_str());

    // Local arrays are sized at compile time: the row kernels' groups, and GEMM's tile.
    row_group_max_ = floor_pow2(std::min<std::size_t>(256, entry_.max_work_group));
    // The tiled GEMM's work-groups are 16 x 16 work-items, each computing a (tile / 16)^2
    // block of C (8 x 8 for 128-wide tiles, 4 x 4 for 64); on devices with smaller groups
    // each computes more. kernels/gemm.cl needs blocks of a multiple of 4.
    gemm_tile_ = static_cast<std::size_t>(params.get_int("gemm_tile"));
    if (gemm_tile_ != 64 && gemm_tile_ != 128)
        fail("gemm_tile=" + std::to_string(gemm_tile_) + ": must be 64 or 128");
    gemm_wpt_ = gemm_tile_ / 16;
    while ((gemm_tile_ / gemm_wpt_) * (gemm_tile_ / gemm_wpt_) > entry_.max_work_group &&
           gemm_wpt_ < gemm_tile_)
        gemm_wpt_ *= 2;
    std::string options = "-cl-std=CL1.2 -DPLEXUS_WG=" + std::to_string(row_group_max_) +
                          " -DGEMM_TS=" + std::to_string(gemm_tile_) +
                          " -DGEMM_WPT=" + std::to_string(gemm_wpt_);
    // Division and sqrt round like the CPU's where the device can (OpenCL allows 2.5-3 ulp).
    if (entry_.rounded_div_sqrt) options += " -cl-fp32-correctly-rounded-divide-sqrt";
    std::vector<std::string> sources;
    for (std::size_t i = 0; i < kKernelSourceCount; ++i)
        sources.emplace_back(kKernelSources[i].text);
    const auto folder = params.get_bool("cache") ? cache_dir() : std::filesystem::path();
    const BuiltProgram built = build_program(
        context_, entry_, sources, options, folder.empty() ? folder : folder / "opencl");
    program_ = built.program;
    program_note_ = fmt::format("{} {:.2f} s{}", built.from_cache ? "from cache in" : "built in",
                                built.seconds,
                                folder.empty() ? ", no cache" : built.from_cache ? "" : ", cached");

    for (std::size_t i = 0; i < kernels_.size(); ++i) {
        kernels_[i] = clCreateKernel(program_, kKernelNames[i], &err);
        check(err, (std::string("creating kernel ") + kKernelNames[i]).c_str());
        std::size_t group = 0;
        clGetKernelWorkGroupInfo(kernels_[i], entry_.device, CL_KERNEL_WORK_GROUP_SIZE,
                                 sizeof group, &group, nullptr);
        kernel_group_[i] = group ? group : entry_.max_work_group;
    }
}

OpenClDevice::~OpenClDevice() { release(); }

void OpenClDevice::release() noexcept {
    if (queue_) clFinish(queue_);
    for (Staging& s : staging_) release_staging(s);
    if (clblast_temp_) clReleaseMemObject(clblast_temp_);
    for (cl_kernel k : kernels_)
        if (k) clReleaseKernel(k);
    if (program_) clReleaseProgram(program_);
    if (queue_) clReleaseCommandQueue(queue_);
    if (context_) clReleaseContext(context_);
}

std::string OpenClDevice::description() const {
    std::string gemm = gemm_ == GemmChoice::clblast ? "CLBlast"
                       : gemm_ == GemmChoice::tiled ? "own tiled kernel"
                       : direct_small_only_ ? "own direct kernel below 256 each way, else own tiled kernel"
                                            : "own direct kernel";
    if (!gemm_note_.empty()) gemm += " (" + gemm_note_ + ")";
    return "opencl:" + std::to_string(index_) + ": " + entry_.name + " (" + entry_.platform_name +
           ", " + entry_.type_name() + ", " + std::to_string(entry_.compute_units) +
           " compute units, " + format_bytes(entry_.memory) + "); GEMM: " + gemm +
           "; kernels " + program_note_;
}

// ---- launching

void OpenClDevice::set_raw_arg(cl_kernel k, cl_uint index, std::size_t size,
                               const void* value) const {
    if (const cl_int err = clSetKernelArg(k, index, size, value); err != CL_SUCCESS) [[unlikely]]
        fail("setting argument " + std::to_string(index) + ": " + error_name(err));
}

void OpenClDevice::set_arg(cl_kernel k, cl_uint& index, const View& v) const {
    set_raw_arg(k, index++, sizeof v.mem, &v.mem);
    set_raw_arg(k, index++, sizeof v.offset, &v.offset);
}

void OpenClDevice::enqueue(Kernel kernel, const char* op, std::array<std::size_t, 2> global,
                           std::array<std::size_t, 2> local) {
    const bool fixed = local[0] != 0;
    if (fixed)
        for (int d = 0; d < 2; ++d) global[d] = (global[d] + local[d] - 1) / local[d] * local[d];
    const cl_int err =
        clEnqueueNDRangeKernel(queue_, kernels_[static_cast<std::size_t>(kernel)], 2, nullptr,
                               global.data(), fixed ? local.data() : nullptr, 0, nullptr, nullptr);
    if (err != CL_SUCCESS) [[unlikely]]
        fail_enqueue(err, op);
}

void OpenClDevice::fail_enqueue(cl_int err, const char* op) const {
    if (is_out_of_memory(err))
        fail(std::string(op) + ": out of device memory (" + error_name(err) + ") on " +
             entry_.name + " with " + format_bytes(counters().live_bytes) +
             " of tensors allocated (" + format_bytes(entry_.memory) +
             " in all); use a smaller batch (train.batch_size) or a smaller model");
    fail(std::string(op) + ": " + error_name(err));
}

std::size_t OpenClDevice::row_group(Kernel kernel, std::size_t cols) const {
    const std::size_t limit =
        floor_pow2(std::min(row_group_max_, kernel_group_[static_cast<std::size_t>(kernel)]));
    return std::min(limit, std::bit_ceil(std::max<std::size_t>(cols, 1)));
}

void OpenClDevice::synchronize() { check(clFinish(queue_), "synchronize"); }

// ---- operands

View OpenClDevice::view(const plexus::Tensor& t, const char* op, const char* what) const {
    if (t.device() != this || t.empty()) [[unlikely]]
        fail(std::string(op) + ": tensor '" + what +
             "' is empty or lives on another device; allocate it with this device's alloc()");
    return {static_cast<cl_mem>(t.handle()), static_cast<cl_uint>(t.offset())};
}

void OpenClDevice::require_numel(const char* op, const char* what, const plexus::Tensor& t,
                                 std::size_t want) {
    if (t.numel() != want) [[unlikely]]
        fail(std::string(op) + ": '" + what + "' has shape " + t.shape().str() + " (" +
             std::to_string(t.numel()) + " elements) but " + std::to_string(want) +
             " elements are required");
}

bool OpenClDevice::overlaps(const plexus::Tensor& a, const plexus::Tensor& b) {
    return a.handle() == b.handle() && a.numel() && b.numel() &&
           a.offset() < b.offset() + b.numel() && b.offset() < a.offset() + a.numel();
}

// ---- memory. Buffers are whole tensors; views carry offsets (see View).

void* OpenClDevice::allocate(std::size_t bytes) {
    const auto out_of_memory = [&](const std::string& why) {
        fail("out of device memory allocating a tensor of " + std::to_string(bytes) + " bytes (" +
             format_bytes(bytes) + ") on " + entry_.name + ": " + why +
             "; use a smaller batch (train.batch_size) or a smaller model");
    };
    if (bytes / sizeof(float) > UINT32_MAX)
        out_of_memory("kernels index tensors with 32 bits (at most 4 Gi elements)");
    if (bytes > entry_.max_alloc)
        out_of_memory("the device allows at most " + format_bytes(entry_.max_alloc) +
                      " per buffer");
    cl_int err = CL_SUCCESS;
    cl_mem mem = clCreateBuffer(context_, CL_MEM_READ_WRITE, bytes, nullptr, &err);
    if (err != CL_SUCCESS || !mem) {
        if (is_out_of_memory(err) || err == CL_INVALID_BUFFER_SIZE)
            out_of_memory(error_name(err) + " with " + format_bytes(counters().live_bytes) +
                          " already allocated");
        fail("clCreateBuffer(" + std::to_string(bytes) + " bytes): " + error_name(err));
    }
    return mem;
}

void OpenClDevice::deallocate(void* handle) noexcept {
    clReleaseMemObject(static_cast<cl_mem>(handle));
}

// The host span may be reused as soon as write() returns, and the transfer should not wait
// for the kernels queued before it (a blocking write would: the queue is in order). So an
// upload of up to kStagingMax bytes is copied into a pinned staging buffer and queued
// without blocking: the training step's next batch goes up behind the previous step's
// kernels while the host goes on queueing. Four slots rotate; a slot is reused only after
// its transfer has finished (a training step uploads two tensors, so that wait is for a
// transfer two steps back). Larger uploads (weights being restored) block, and so does every
// upload with overlap_uploads=false.
void OpenClDevice::write(void* handle, std::size_t offset_bytes, const void* src,
                         std::size_t bytes) {
    if (!bytes) return;
    cl_int err = CL_SUCCESS;
    if (bytes > kStagingMax || !overlap_uploads_) {
        err = clEnqueueWriteBuffer(queue_, static_cast<cl_mem>(handle), CL_TRUE, offset_bytes,
                                   bytes, src, 0, nullptr, nullptr);
    } else {
        Staging& s = staging_for(bytes);
        std::memcpy(s.host, src, bytes);
        err = clEnqueueWriteBuffer(queue_, static_cast<cl_mem>(handle), CL_FALSE, offset_bytes,
                                   bytes, s.host, 0, nullptr, &s.done);
    }
    if (err != CL_SUCCESS) [[unlikely]]
        fail_enqueue(err, "upload");
}

OpenClDevice::Staging& OpenClDevice::staging_for(std::size_t bytes) {
    Staging& s = staging_[next_staging_];
    next_staging_ = (next_staging_ + 1) % kStagingSlots;
    if (s.done) {
        const cl_int err = clWaitForEvents(1, &s.done);
        clReleaseEvent(s.done);
        s.done = nullptr;
        check(err, "upload (waiting for an earlier transfer)");
    }
    if (s.capacity >= bytes) return s;
    release_staging(s);
    const std::size_t capacity = std::max({bytes, std::size_t{1} << 20, std::bit_ceil(bytes)});
    cl_int err = CL_SUCCESS;
    s.mem = clCreateBuffer(context_, CL_MEM_READ_ONLY | CL_MEM_ALLOC_HOST_PTR, capacity, nullptr,
                           &err);
    if (err != CL_SUCCESS || !s.mem) {
        s.mem = nullptr;
        fail_enqueue(err, "upload (allocating a pinned staging buffer)");
    }
    s.host = clEnqueueMapBuffer(queue_, s.mem, CL_TRUE, CL_MAP_WRITE, 0, capacity, 0, nullptr,
                                nullptr, &err);
    if (err != CL_SUCCESS || !s.host) {
        release_staging(s);
        fail_enqueue(err, "upload (mapping a pinned staging buffer)");
    }
    s.capacity = capacity;
    return s;
}

void OpenClDevice::release_staging(Staging& s) noexcept {
    if (s.done) {
        clWaitForEvents(1, &s.done);
        clReleaseEvent(s.done);
    }
    if (s.host) {
        clEnqueueUnmapMemObject(queue_, s.mem, s.host, 0, nullptr, nullptr);
        clFinish(queue_);
    }
    if (s.mem) clReleaseMemObject(s.mem);
    s = Staging{};
}

void OpenClDevice::read(const void* handle, std::size_t offset_bytes, void* dst,
                        std::size_t bytes) {
    if (!bytes) return;
    const cl_int err =
        clEnqueueReadBuffer(queue_, static_cast<cl_mem>(const_cast<void*>(handle)), CL_TRUE,
                            offset_bytes, bytes, dst, 0, nullptr, nullptr);
    if (err != CL_SUCCESS) [[unlikely]]
        fail_enqueue(err, "download");
}

// ---- `plexus devices`

namespace {

long list_devices(plexus::DeviceListing* out, std::size_t capacity, char* error,
                  std::size_t error_size) noexcept {
    try {
        const std::vector<DeviceEntry> devices = enumerate_devices();
        for (std::size_t i = 0; i < devices.size() && i < capacity; ++i) {
            const DeviceEntry& d = devices[i];
            plexus::DeviceListing& l = out[i];
            plexus::copy_field(l.component, "opencl");
            plexus::copy_field(l.spec, ("opencl:" + std::to_string(i)).c_str());
            plexus::copy_field(l.platform, d.platform_name.c_str());
            plexus::copy_field(l.name, d.name.c_str());
            plexus::copy_field(l.type, d.type_name().c_str());
            l.memory_bytes = d.memory;
            l.compute_units = d.compute_units;
        }
        return static_cast<long>(devices.size());
    } catch (const std::exception& e) {
        if (error && error_size) {
            std::snprintf(error, error_size, "%s", e.what());
        }
        return -1;
    }
}

}  // namespace
}  // namespace plexus_opencl

PLEXUS_PLUGIN(plexus::component<plexus_opencl::OpenClDevice>(
    "opencl", "0.1.0",
    "OpenCL 1.2 device for GPUs (NVIDIA, AMD, Intel) and CPUs (PoCL); CLBlast or own GEMM",
    plexus_opencl::kParams))
PLEXUS_DEVICE_LIST(plexus_opencl::list_devices)
