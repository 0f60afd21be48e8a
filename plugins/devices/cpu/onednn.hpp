// The conv2d fused keys on the cpu device, through oneDNN (onednn_conv.cpp), when the build
// made the module and it loads; otherwise the device does not list the keys and conv2d runs
// its im2col + GEMM path.
//
// Threads: Debian's oneDNN runs on OpenMP (libgomp), whose idle threads by default spin for
// a while after each parallel region, against OpenBLAS's threads, which run the GEMMs right
// after; measured, that made convolutions several times slower. libgomp reads
// OMP_WAIT_POLICY once, when it is loaded, so the module is loaded here with dlopen after
// setting OMP_WAIT_POLICY=PASSIVE (unless the user set it), and told to use as many threads
// as OpenBLAS. A libgomp that some other library loaded earlier keeps its own setting.
//
// Plans (primitives and buffers) are cached per geometry, so a layer's shapes, including a
// last partial batch, are set up once; a step after that allocates no buffer.
#pragma once

#include <dlfcn.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "onednn_api.hpp"
#include "plexus/error.hpp"
#include "plexus/fused.hpp"

namespace plexus_cpu {

class OnednnConv {
public:
    // The module (lib/plexus/plexus_cpu_onednn.so beside lib/plexus/plugins), or nothing (PLEXUS_CPU_ONEDNN=0 turns it off).
    static std::unique_ptr<OnednnConv> load(int threads) {
        const char* off = std::getenv("PLEXUS_CPU_ONEDNN");
        if (off && std::string(off) == "0") return nullptr;
        const Module& m = module();
        if (!m.create) return nullptr;
        return std::unique_ptr<OnednnConv>(new OnednnConv(m.create, m.sgemm, threads));
    }

    ~OnednnConv() { ready(); }
    OnednnConv(const OnednnConv&) = delete;
    OnednnConv& operator=(const OnednnConv&) = delete;

    // The base class checked the operands (plexus::Device::try_fused). A oneDNN failure
    // becomes a DeviceError that names the way around it.
    void forward(const plexus::fused::Conv2dForward& op) {
        ready();
        guarded(op.kKey, [&] {
            plan(op.window, op.filters).forward(at(&op.x), at(&op.kernel), at(op.bias), at(&op.y));
        });
    }

    void backward(const plexus::fused::Conv2dBackward& op) {
        ready();
        guarded(op.kKey, [&] {
            plan(op.window, op.filters)
                .backward(at(&op.x), at(&op.kernel), at(&op.dy), at(op.dx), at(op.dkernel),
                          op.dkernel ? at(op.dbias) : nullptr);
        });
    }

    // A product through oneDNN (row-major, leading dimensions in elements): a matmul
    // primitive per shape, made on its first call (onednn_gemm.cpp). Its JIT kernels skip the
    // operand packing OpenBLAS does on every call, which dominates at the sizes of a recurrent
    // step (64x64 by 64x256): 1.9x faster there; and they use AVX-512 where OpenBLAS's kernel
    // set does not (the device's `gemm` parameter), measured (plugins/devices/cpu/README.md).
    // False when the module has no GEMM or oneDNN declines (the caller then runs OpenBLAS).
    // c is not read when beta == 0.
    bool gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha,
              const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta,
              float* c, std::size_t ldc) {
        ready();
        return sgemm_ &&
               sgemm_(ta ? 'T' : 'N', tb ? 'T' : 'N', static_cast<long>(m), static_cast<long>(n),
                      static_cast<long>(k), alpha, a, static_cast<long>(lda), b,
                      static_cast<long>(ldb), beta, c, static_cast<long>(ldc), threads_) == 0;
    }

    bool has_sgemm() const { return sgemm_ != nullptr; }

    // The OpenMP threads of later calls (the device follows the machine's load).
    void set_threads(int threads) { threads_ = threads; }

private:
    // oneDNN's first primitive in a process takes about 2 ms (it reads the processor and
    // starts its OpenMP runtime): a helper thread makes a first 8x8x8 product while the caller
    // goes on (building the model), and every call waits for it, so oneDNN never runs on two
    // threads at once. (With dnnl_sgemm that first call generated every kernel of its driver,
    // 35-60 ms, which was most of `plexus evaluate`'s loop over 10,000 images.)
    OnednnConv(plexus_onednn::CreateFn create, plexus_onednn::SgemmFn sgemm, int threads)
        : create_(create), sgemm_(sgemm), threads_(threads) {
        if (sgemm_)
            warm_ = std::thread([sgemm] {
                float a[64] = {}, c[64] = {};
                sgemm('N', 'N', 8, 8, 8, 1.0f, a, 8, a, 8, 0.0f, c, 8, 1);
            });
    }

    void ready() {
        if (warm_.joinable()) warm_.join();
    }

    struct Module {
        plexus_onednn::CreateFn create = nullptr;
        plexus_onednn::SgemmFn sgemm = nullptr;
    };

    // Loads the module once per process; null entries when it is absent or does not load.
    static const Module& module() {
        static const Module loaded = [] {
            Module m;
            Dl_info info{};
            if (!dladdr(reinterpret_cast<void*>(&OnednnConv::module), &info) || !info.dli_fname)
                return m;
            std::string path = info.dli_fname;
            path = path.substr(0, path.rfind('/') + 1) + plexus_onednn::kModuleName;
            ::setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
            void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);  // kept until exit
            if (!handle) return m;
            m.create = reinterpret_cast<plexus_onednn::CreateFn>(
                dlsym(handle, plexus_onednn::kCreateSymbol));
            m.sgemm = reinterpret_cast<plexus_onednn::SgemmFn>(
                dlsym(handle, plexus_onednn::kSgemmSymbol));
            return m;
        }();
        return loaded;
    }

    template <class F>
    static void guarded(plexus::fused::Key key, F&& run) {
        try {
            run();
        } catch (const std::runtime_error& e) {
            throw plexus::DeviceError("cpu: " + std::string(plexus::fused::key_name(key)) +
                                      ": " + e.what() +
                                      "; set `device = cpu onednn=false` to run conv2d without "
                                      "oneDNN");
        }
    }

    static float* at(const plexus::Tensor* t) {
        return t ? static_cast<float*>(t->handle()) + t->offset() : nullptr;
    }

    plexus_onednn::ConvPlan& plan(const plexus::Window2d& w, std::size_t filters) {
        const plexus_onednn::ConvShape shape{w.batch,    w.channels,   w.height,     w.width,
                                             filters,    w.kernel_h,   w.kernel_w,   w.stride_h,
                                             w.stride_w, w.dilation_h, w.dilation_w, w.pad_top,
                                             w.pad_left, w.out_h,      w.out_w};
        for (auto& [s, p] : plans_)
            if (s == shape) return *p;
        char error[512] = "";
        std::unique_ptr<plexus_onednn::ConvPlan> p(create_(shape, threads_, error, sizeof error));
        if (!p) throw std::runtime_error(std::string("oneDNN convolution: ") + error);
        plans_.emplace_back(shape, std::move(p));
        return *plans_.back().second;
    }

    plexus_onednn::CreateFn create_;
    plexus_onednn::SgemmFn sgemm_;
    int threads_;
    std::thread warm_;
    std::vector<std::pair<plexus_onednn::ConvShape, std::unique_ptr<plexus_onednn::ConvPlan>>>
        plans_;
};

}  // namespace plexus_cpu
