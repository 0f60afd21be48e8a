// CPU device: OpenBLAS for GEMM, plain loops for everything else.
//
// It is the reference every other device is compared against, so outside gemm the code
// favours obvious loops (compiled -O3, reductions marked `omp simd`) over clever kernels.
// Ops run synchronously on the calling thread; GEMM fans out on OpenBLAS's own pool, and the
// large optimizer updates and window ops (im2col, pooling, ...) on a few helper threads that
// never spin beside OpenBLAS's (worker_pool.hpp): a second pool busy-waiting would fight it
// for the cores and slow GEMM down. No op allocates.
//
// The loops are compiled twice, for x86-64's baseline (SSE2) and for AVX2, and the device
// picks the variant the processor runs when it is created (`isa=auto`): one build runs
// everywhere and still uses 8-wide vectors where it can. Both variants round alike (no
// contraction into FMA: -ffp-contract=off), except that vectorised sums group their terms
// by the vector width.
#include <cblas.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <armadillo>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>

#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include "checks.hpp"
#include "load_monitor.hpp"
#if PLEXUS_CPU_ONEDNN
#include "onednn.hpp"
#endif
#include "profiler.hpp"
#include "worker_pool.hpp"
#include "plexus/device.hpp"
#include "plexus/plugin.hpp"

namespace cpu_isa {

constexpr std::size_t kAlignment = 64;  // a cache line, and a full AVX-512 register

// Tensors of 2 MiB or more start on a 2 MiB boundary and ask for transparent huge pages:
// in a virtual machine a fresh 4 KiB page cost about 50 µs on first touch here (a batch of
// 1024 images, 3.2 MB, is 800 of them), and GEMMs over large operands miss the TLB less.
constexpr std::size_t kHugePage = std::size_t{2} << 20;
// So do tensors from 512 KiB, rounded up to a whole huge page (at most 4x their size, for
// sizes in [512 KiB, 2 MiB)): a layer's output at batch 1024 (1024x256 floats, 1 MiB) cost
// 256 first-touch faults, 4-13 ms, in the first pass of `plexus evaluate` (session 14).
constexpr std::size_t kHugeFrom = std::size_t{512} << 10;

inline void advise_huge_pages(void* p, std::size_t bytes) {
#ifdef MADV_HUGEPAGE
    ::madvise(p, (bytes + kHugePage - 1) / kHugePage * kHugePage, MADV_HUGEPAGE);
#endif
}

// OpenBLAS's thread count before any device changed it (OPENBLAS_NUM_THREADS, else one per
// core): what a device that follows the load starts from and returns to.
inline int openblas_default_threads() {
    static const int threads = openblas_get_num_threads();
    return threads;
}

// OpenBLAS's threads poll with sched_yield for about 2^28 cycles (~0.1 s) after they start and
// after each call, then sleep. A device whose products all go to oneDNN gives them no work, yet
// the polling that follows their start at load time took a core from the data loading and the
// first products of every `plexus train` and `plexus evaluate` (session 15's profile: 80-90 ms
// of a core, most of it in sched_yield). blas_thread_shutdown_ ends them: OpenBLAS exports it
// and runs it itself before a fork, and its next threaded call starts them again. A build
// without it (another BLAS) keeps its threads. Like a fork, it must not meet another thread's
// OpenBLAS call: every Plexus command makes its devices on one thread before the first op; a
// program that makes a `gemm=onednn` device while another thread computes on a `gemm=openblas`
// one must not (the shutdown could wait for that call's threads forever).
inline void end_idle_openblas_threads() {
    Dl_info info{};
    if (!dladdr(reinterpret_cast<void*>(&openblas_get_num_threads), &info) || !info.dli_fname)
        return;
    void* lib = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    if (!lib) return;
    if (auto* shutdown = reinterpret_cast<int (*)()>(dlsym(lib, "blas_thread_shutdown_")))
        shutdown();
    dlclose(lib);
}

inline unsigned online_cpus() {
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<unsigned>(n) : 1u;
}

// "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64" -> "OpenBLAS 0.3.21".
inline std::string openblas_library() {
    const std::string config = openblas_get_config();
    return config.substr(0, config.find(' ', config.find(' ') + 1));
}

}  // namespace cpu_isa

// This device's own helpers (kernels.hpp, random.hpp, fused_*.hpp) are included by
// cpu_device.inc inside each variant's namespace, and their functions are static, so each has
// internal linkage and GCC may inline, clone or drop it as freely as if it were written there.
#if defined(__x86_64__) && defined(__GNUC__)
#define PLEXUS_CPU_AVX2 1
#pragma GCC push_options
#pragma GCC target("avx2")
namespace cpu_avx2 {
constexpr const char* kInstructionSet = "AVX2";
namespace plexus_cpu { using namespace ::plexus_cpu; }  // checks.hpp, compiled once
#include "cpu_device.inc"
}  // namespace cpu_avx2
#pragma GCC pop_options
#endif

// The same loops for AVX-512 (16 lanes): the recurrent cells' five exp per unit and the
// other elementwise loops run twice as wide. Contraction into FMA stays off, as in the AVX2
// variant (whose target has no FMA), so both round each operation the same way.
#if defined(__x86_64__) && defined(__GNUC__)
#define PLEXUS_CPU_AVX512 1
#pragma GCC push_options
#pragma GCC target("avx2,avx512f,avx512vl,avx512bw,avx512dq")
#pragma GCC optimize("fp-contract=off")
namespace cpu_avx512 {
constexpr const char* kInstructionSet = "AVX-512";
namespace plexus_cpu { using namespace ::plexus_cpu; }
#include "cpu_device.inc"
}  // namespace cpu_avx512
#pragma GCC pop_options
#endif

namespace cpu_baseline {
constexpr const char* kInstructionSet = "baseline";
namespace plexus_cpu { using namespace ::plexus_cpu; }
#include "cpu_device.inc"
}  // namespace cpu_baseline

namespace {

constexpr plexus::ParamSpec kParams[] = {
    {"threads", plexus::ParamType::integer, "0", 0, 1024, nullptr,
     "OpenBLAS threads for GEMM; 0 keeps OpenBLAS's default (OPENBLAS_NUM_THREADS, else one "
     "per core) and, with adapt_threads, uses fewer while other processes keep cores busy. The "
     "setting is process-wide."},
    {"isa", plexus::ParamType::choice, "auto", -std::numeric_limits<double>::infinity(),
     std::numeric_limits<double>::infinity(), "auto|avx512|avx2|baseline",
     "Instruction set of the elementwise, reduction and optimizer loops: auto takes AVX-512 "
     "where the processor has it, else AVX2"},
    {"onednn", plexus::ParamType::boolean, "true", -std::numeric_limits<double>::infinity(),
     std::numeric_limits<double>::infinity(), nullptr,
     "Run conv2d's fused keys with oneDNN's direct convolutions where the build has them "
     "(false: conv2d's im2col + GEMM path)"},
    {"gemm", plexus::ParamType::choice, "auto", -std::numeric_limits<double>::infinity(),
     std::numeric_limits<double>::infinity(), "auto|openblas|onednn",
     "Who runs the large GEMMs where the build has oneDNN (small ones always go to oneDNN, "
     "see onednn): auto takes oneDNN where the processor has AVX-512 and OpenBLAS's kernel set "
     "does not (about 1.8x faster there), else OpenBLAS"},
    {"adapt_threads", plexus::ParamType::boolean, "true", -std::numeric_limits<double>::infinity(),
     std::numeric_limits<double>::infinity(), nullptr,
     "With threads=0: count other processes' runnable threads every 0.1 s and use only the "
     "cores they leave free (results then differ in the last bits between thread counts; set "
     "threads=N for bit-identical reruns)"},
};

bool has_avx512() {
#ifdef PLEXUS_CPU_AVX512
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
#else
    return false;
#endif
}

bool has_avx2() {
#ifdef PLEXUS_CPU_AVX2
    return __builtin_cpu_supports("avx2");
#else
    return false;
#endif
}

template <class Device>
void* create(const plexus::Params& params, char* error, std::size_t error_size) noexcept {
    if (plexus_cpu::OpProfiler::enabled_by_environment())
        return plexus::detail::create<plexus_cpu::Profiled<Device>>(params, error, error_size);
    return plexus::detail::create<Device>(params, error, error_size);
}

void* create_cpu_device(const plexus::Params& params, char* error, std::size_t error_size) noexcept {
    std::string isa = "auto";
    try {
        if (params.has("isa")) isa = params.get_string("isa");
    } catch (...) {
    }
    if (isa == "avx2" && !has_avx2()) {
        if (error && error_size) {
            std::strncpy(error, "cpu: isa=avx2 but this processor (or build) has no AVX2; use isa=auto",
                         error_size - 1);
            error[error_size - 1] = '\0';
        }
        return nullptr;
    }
    if (isa == "avx512" && !has_avx512()) {
        if (error && error_size) {
            std::strncpy(error, "cpu: isa=avx512 but this processor (or build) has no AVX-512; use isa=auto",
                         error_size - 1);
            error[error_size - 1] = '\0';
        }
        return nullptr;
    }
#ifdef PLEXUS_CPU_AVX512
    if (isa == "avx512" || (isa == "auto" && has_avx512()))
        return create<cpu_avx512::CpuDevice>(params, error, error_size);
#endif
#ifdef PLEXUS_CPU_AVX2
    if (isa == "avx2" || (isa == "auto" && has_avx2()))
        return create<cpu_avx2::CpuDevice>(params, error, error_size);
#endif
    return create<cpu_baseline::CpuDevice>(params, error, error_size);
}

// `plexus devices`: the one CPU device, with the processor's name, memory and core count.
long list_cpu_device(plexus::DeviceListing* out, std::size_t capacity, char*, std::size_t) noexcept {
    if (capacity == 0) return 1;
    plexus::DeviceListing& l = out[0];
    plexus::copy_field(l.component, "cpu");
    plexus::copy_field(l.spec, "cpu:0");
    plexus::copy_field(l.platform, cpu_isa::openblas_library().c_str());
    std::string model = "x86-64 processor";
    if (std::FILE* f = std::fopen("/proc/cpuinfo", "r")) {
        char line[256];
        while (std::fgets(line, sizeof line, f))
            if (std::strncmp(line, "model name", 10) == 0) {
                if (const char* colon = std::strchr(line, ':')) {
                    model = colon + 1;
                    model.erase(0, model.find_first_not_of(' '));
                    model.erase(model.find_last_not_of("\n ") + 1);
                }
                break;
            }
        std::fclose(f);
    }
    plexus::copy_field(l.name, (model + (has_avx512() ? ", AVX-512 loops" : has_avx2() ? ", AVX2 loops" : ", baseline loops")).c_str());
    plexus::copy_field(l.type, "cpu");
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    l.memory_bytes = pages > 0 && page > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page) : 0;
    l.compute_units = std::thread::hardware_concurrency();
    return 1;
}

}  // namespace

PLEXUS_PLUGIN(plexus::ComponentInfo{plexus::Kind::device, "cpu", "0.1.0",
                                    "CPU device: OpenBLAS GEMM, Armadillo views and vectorised loops",
                                    kParams, std::size(kParams), &create_cpu_device})
PLEXUS_DEVICE_LIST(list_cpu_device)
