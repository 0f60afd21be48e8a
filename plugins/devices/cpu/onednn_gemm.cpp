// The oneDNN module's GEMM (`plexus_onednn_sgemm`, onednn_api.hpp): one matmul primitive per
// product shape, made on the shape's first call and kept.
//
// Why not dnnl_sgemm: its first call in a process generates every kernel of its GEMM driver
// (all transposes, every beta case) and took 35-60 ms on the development machine, on the path
// of a run's first step and of `plexus evaluate`'s first batch. A matmul primitive generates
// the kernels of its one shape: 0.1-0.6 ms, the module's first about 2 ms. On that machine it
// ran the step shapes of models (a) and (c) as fast as dnnl_sgemm on one thread and up to 1.8x
// faster on two (NT 128x2048x2048: 317 against 173 GFLOP/s), plugins/devices/cpu/README.md.
//
// A product never allocates after its first call: the primitive, its memory descriptors and
// argument array are made once, the scratchpad is the module's one buffer (grown only when a
// new shape needs more), and a call sets the data handles and executes. c is not read when
// beta == 0 (no sum post-op), so an uninitialised c cannot leak NaN into the result.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include <dnnl.hpp>

#include "onednn_api.hpp"

namespace {

using dnnl::memory;

// Everything a primitive is made for: row-major c = alpha op(a) op(b) + beta c.
struct GemmKey {
    char ta, tb;
    long m, n, k, lda, ldb, ldc;
    std::uint32_t alpha, beta;  // the floats' bits: -0.0f and NaN are keys like any other
    int threads;                // the primitive splits its work for this many
    bool operator==(const GemmKey&) const = default;
};

std::uint32_t bits(float v) {
    std::uint32_t u;
    std::memcpy(&u, &v, sizeof u);
    return u;
}

struct GemmPrimitive {
    GemmKey key;
    dnnl::primitive primitive;
    memory a, b, c, scratchpad;
    std::size_t scratchpad_bytes = 0;
    std::vector<dnnl_exec_arg_t> args;
    std::uint64_t used = 0;  // the call counter's value at its last use
    dnnl_status_t failed = dnnl_success;  // oneDNN declined the shape: not asked again
};

class GemmCache {
public:
    // Products of more shapes than this drop the least recently used (a model has a few
    // dozen: forward, both backward products, the last short batch's).
    static constexpr std::size_t kCapacity = 256;

    dnnl_status_t run(const GemmKey& key, const float* a, const float* b, float* c) {
        const std::lock_guard<std::mutex> lock(mutex_);
        GemmPrimitive& p = find(key);
        p.used = ++calls_;
        if (p.failed != dnnl_success) return p.failed;
        if (p.scratchpad_bytes > scratch_bytes_) {
            scratch_.reset(static_cast<char*>(::operator new(p.scratchpad_bytes, kAlign)));
            scratch_bytes_ = p.scratchpad_bytes;
        }
        dnnl_status_t s = dnnl_memory_set_data_handle(p.a.get(), const_cast<float*>(a));
        if (s == dnnl_success) s = dnnl_memory_set_data_handle(p.b.get(), const_cast<float*>(b));
        if (s == dnnl_success) s = dnnl_memory_set_data_handle(p.c.get(), c);
        if (s == dnnl_success && p.scratchpad_bytes)
            s = dnnl_memory_set_data_handle(p.scratchpad.get(), scratch_.get());
        if (s == dnnl_success)
            s = dnnl_primitive_execute(p.primitive.get(), stream_.get(),
                                       static_cast<int>(p.args.size()), p.args.data());
        if (s == dnnl_success) s = dnnl_stream_wait(stream_.get());
        return s;
    }

private:
    GemmPrimitive& find(const GemmKey& key) {
        for (auto& p : made_)
            if (p->key == key) return *p;
        if (made_.size() == kCapacity)
            made_.erase(std::min_element(made_.begin(), made_.end(), [](const auto& x, const auto& y) {
                return x->used < y->used;
            }));
        try {
            made_.push_back(make(key));
        } catch (const dnnl::error& e) {
            auto declined = std::make_unique<GemmPrimitive>();
            declined->key = key;
            declined->failed = e.status == dnnl_success ? dnnl_runtime_error : e.status;
            made_.push_back(std::move(declined));
        }
        return *made_.back();
    }

    // op(a) is m x k: a is stored k x m when transposed; likewise op(b), k x n.
    std::unique_ptr<GemmPrimitive> make(const GemmKey& key) const {
        const auto plain = [](long rows, long cols, long ld, bool transposed) {
            return transposed ? memory::desc({rows, cols}, memory::data_type::f32, {1, ld})
                              : memory::desc({rows, cols}, memory::data_type::f32, {ld, 1});
        };
        const memory::desc a = plain(key.m, key.k, key.lda, key.ta == 'T');
        const memory::desc b = plain(key.k, key.n, key.ldb, key.tb == 'T');
        const memory::desc c = plain(key.m, key.n, key.ldc, false);
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        float alpha, beta;
        std::memcpy(&alpha, &key.alpha, sizeof alpha);
        std::memcpy(&beta, &key.beta, sizeof beta);
        if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
        if (beta != 0.0f) {
            dnnl::post_ops ops;
            ops.append_sum(beta);
            attr.set_post_ops(ops);
        }
        const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, engine_);
        auto p = std::make_unique<GemmPrimitive>();
        p->key = key;
        p->primitive = dnnl::matmul(pd);
        p->a = memory(a, engine_, nullptr);
        p->b = memory(b, engine_, nullptr);
        p->c = memory(c, engine_, nullptr);
        p->args = {{DNNL_ARG_SRC, p->a.get()},
                   {DNNL_ARG_WEIGHTS, p->b.get()},
                   {DNNL_ARG_DST, p->c.get()}};
        p->scratchpad_bytes = pd.scratchpad_desc().get_size();
        if (p->scratchpad_bytes) {
            p->scratchpad = memory(pd.scratchpad_desc(), engine_, nullptr);
            p->args.push_back({DNNL_ARG_SCRATCHPAD, p->scratchpad.get()});
        }
        return p;
    }

    dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
    dnnl::stream stream_{engine_};
    std::mutex mutex_;
    std::vector<std::unique_ptr<GemmPrimitive>> made_;
    static constexpr std::align_val_t kAlign{4096};
    struct Free {
        void operator()(char* p) const { ::operator delete(p, kAlign); }
    };
    std::unique_ptr<char, Free> scratch_;  // page-aligned, shared by every primitive
    std::size_t scratch_bytes_ = 0;
    std::uint64_t calls_ = 0;
};

constexpr long kOneThread = 1L << 22;  // m·n·k, multiply-adds

}  // namespace

extern "C" __attribute__((visibility("default"))) int plexus_onednn_sgemm(
    char transa, char transb, long m, long n, long k, float alpha, const float* a, long lda,
    const float* b, long ldb, float beta, float* c, long ldc, int threads) {
    try {
        // One owner of the cores: as many OpenMP threads as OpenBLAS runs (DESIGN §7), but one
        // for a product of at most 2^22 multiply-adds, whose share of a second thread does not
        // pay for waking it (128x128x128: 200-214 GFLOP/s on one thread against 136-143 on two;
        // 128x256x128 even; 256x256x128 262 against 210, plugins/devices/cpu/README.md).
        if (m > 0 && n > 0 && k > 0 && m * n <= kOneThread / k) threads = 1;
        if (threads > 0 && omp_get_max_threads() != threads) omp_set_num_threads(threads);
        if ((transa != 'N' && transa != 'T') || (transb != 'N' && transb != 'T') || m <= 0 ||
            n <= 0 || k <= 0)
            return static_cast<int>(dnnl_invalid_arguments);
        static GemmCache cache;
        const GemmKey key{transa, transb, m, n, k, lda, ldb, ldc, bits(alpha), bits(beta),
                          omp_get_max_threads()};
        return static_cast<int>(cache.run(key, a, b, c));
    } catch (const dnnl::error& e) {
        return static_cast<int>(e.status == dnnl_success ? dnnl_runtime_error : e.status);
    } catch (...) {
        return static_cast<int>(dnnl_runtime_error);
    }
}
