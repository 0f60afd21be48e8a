// OpenCL device tests, run on PoCL in CI. The op tests run the SDK's conformance table
// (plexus::testing::check_device, every op and fused key on the CPU device and this one from
// the same inputs, compared with a tolerance, as ggml's test-backend-ops does), once per
// GEMM variant for the GEMM cases. Training runs, transfer counters, the program cache and
// the setup errors are in test_opencl_runs.cpp (the same executable).
#define BOOST_TEST_MODULE opencl_device
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "plexus/device.hpp"
#include "plexus/error.hpp"
#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"

using plexus::Axis;
using plexus::BinaryOp;
using plexus::Device;
using plexus::DeviceError;
using plexus::Distribution;
using plexus::ReduceOp;
using plexus::Shape;
using plexus::Tensor;
using plexus::Transpose;
using plexus::UnaryOp;
using Floats = std::vector<float>;

#if defined(__SANITIZE_ADDRESS__)
// PoCL, its LLVM and the ICD loader never free some process-lifetime allocations; the same
// list as lsan_suppressions.txt, which the runs in test_opencl_runs.cpp pass to plexus.
extern "C" const char* __lsan_default_suppressions() {
    return "leak:libpocl.so\nleak:libLLVM\nleak:libOpenCL.so\nleak:libclblast.so\n";
}
#endif

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Kernels compiled by these tests are cached in the build tree, not in the user's ~/.cache.
struct CacheInBuildTree {
    CacheInBuildTree() {
        const std::string dir = std::string(PLEXUS_TEST_BUILD_DIR) + "/tests/opencl-cache";
        ::setenv("XDG_CACHE_HOME", dir.c_str(), 1);
    }
};
BOOST_TEST_GLOBAL_FIXTURE(CacheInBuildTree);

std::shared_ptr<Device> load(const std::string& spec) {
    return plexus::testing::load<Device>(spec, {PLEXUS_TEST_PLUGIN_DIR});
}

Device& cpu() {
    static auto device = load("cpu");
    return *device;
}
Device& opencl() {
    static auto device = load("opencl");
    return *device;
}

// ---- the conformance table: the SDK's (plexus/testing/device_check.hpp), cpu vs opencl

// Runs the table's cases whose op starts with `only` and requires them all to pass; none is
// skipped, since this device implements every fused key.
void check_all(const std::string& only, Device& device = opencl()) {
    const plexus::testing::DeviceCheckReport r = plexus::testing::check_device(cpu(), device, {.only = only});
    BOOST_TEST_REQUIRE(!r.rows.empty(), "no case for " << only);
    BOOST_TEST(r.passed(), only << ":\n" << plexus::testing::to_table(r, true));
    for (const auto& row : r.rows) BOOST_TEST(!row.skipped, row.op << ": " << row.detail);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(conformance)

BOOST_AUTO_TEST_CASE(identity) {
    BOOST_TEST(opencl().name() == "opencl");
    const std::string d = opencl().description();
    BOOST_TEST(d.rfind("opencl:0: ", 0) == 0, d);
    BOOST_TEST(d.find("GEMM: own direct kernel below 256 each way, else own tiled kernel") !=
                   std::string::npos, d);  // PoCL is a CPU
}

BOOST_AUTO_TEST_CASE(elementwise) {
    for (const char* op : {"unary", "binary", "axpby", "fill", "copy"}) check_all(op);
}
BOOST_AUTO_TEST_CASE(reductions_and_softmax) {
    for (const char* op : {"reduce", "softmax", "log_softmax"}) check_all(op);
}
// On PoCL (a CPU), gemm=auto runs the direct kernel on the small cases and the tiled one
// on those of 256 or more each way; gemm=direct runs the direct kernel on all of them.
BOOST_AUTO_TEST_CASE(gemm) { check_all("gemm"); }
BOOST_AUTO_TEST_CASE(gemm_direct) {
    static auto direct = load("opencl gemm=direct");
    BOOST_TEST(direct->description().find("GEMM: own direct kernel;") != std::string::npos);
    check_all("gemm", *direct);
}
// The GPU kernel (tiles in local memory), which auto picks on GPUs without CLBlast.
BOOST_AUTO_TEST_CASE(gemm_tiled) {
    static auto tiled = load("opencl gemm=tiled");
    BOOST_TEST(tiled->description().find("GEMM: own tiled kernel") != std::string::npos);
    check_all("gemm", *tiled);
}
// Smaller tiles: 16 x 16 work-items with one run of 4 x 4 each (128-wide tiles have two).
BOOST_AUTO_TEST_CASE(gemm_tiled_small_tiles) {
    check_all("gemm", *load("opencl gemm=tiled gemm_tile=64"));
    BOOST_CHECK_EXCEPTION(load("opencl gemm_tile=96"), plexus::Error, [](const plexus::Error& e) {
        return std::string(e.what()).find("gemm_tile=96: must be 64 or 128") != std::string::npos;
    });
}
BOOST_AUTO_TEST_CASE(random_matches_cpu) { check_all("random"); }
BOOST_AUTO_TEST_CASE(window_ops) {
    for (const char* op : {"im2col", "col2im", "pool2d", "transpose"}) check_all(op);
}
BOOST_AUTO_TEST_CASE(fused) {
    for (plexus::fused::Key key : plexus::fused::kAllKeys) {
        // The conv2d keys are the cpu device's oneDNN path; conv2d runs im2col + GEMM here.
        if (key == plexus::fused::Key::conv2d_forward || key == plexus::fused::Key::conv2d_backward)
            continue;
        BOOST_TEST(opencl().fused_keys().contains(key), plexus::fused::key_name(key));
        check_all(std::string(plexus::fused::key_name(key)));
    }
}

BOOST_AUTO_TEST_CASE(random_is_deterministic_and_well_distributed) {
    Device& d = opencl();
    const std::size_t n = 100000;
    const Tensor a = d.alloc({n}), b = d.alloc({n});
    d.random(Distribution::normal, 9, 3, a, 1.0f, 2.0f);
    d.random(Distribution::uniform, 1, 1, b, 0.0f, 1.0f);  // draws between do not matter
    const Tensor c = d.alloc({n});
    d.random(Distribution::normal, 9, 3, c, 1.0f, 2.0f);
    const Floats va = plexus::testing::to_host(d, a), vc = plexus::testing::to_host(d, c);
    BOOST_TEST((va == vc));
    const double mean = std::accumulate(va.begin(), va.end(), 0.0) / n;
    double var = 0.0;
    for (float v : va) var += (v - mean) * (v - mean);
    BOOST_TEST(std::fabs(mean - 1.0) < 0.03);  // 4.7 standard errors
    BOOST_TEST(std::fabs(std::sqrt(var / n) - 2.0) < 0.03);
    const Floats vb = plexus::testing::to_host(d, b);
    BOOST_TEST(*std::min_element(vb.begin(), vb.end()) >= 0.0f);
    BOOST_TEST(*std::max_element(vb.begin(), vb.end()) < 1.0f);
    BOOST_TEST(std::fabs(std::accumulate(vb.begin(), vb.end(), 0.0) / n - 0.5) < 0.005);
}

// ---- window ops against the CPU device, on geometries that stress the index arithmetic;
// every operand is a view at an odd offset into a larger buffer.

// A geometry with out_h / out_w from the padding after (pad_after_h, pad_after_w).
plexus::Window2d window(std::array<std::size_t, 4> nchw, std::array<std::size_t, 2> kernel,
                        std::array<std::size_t, 2> stride, std::array<std::size_t, 2> dilation,
                        std::array<std::size_t, 4> pad /* top, bottom, left, right */) {
    plexus::Window2d w{.batch = nchw[0], .channels = nchw[1], .height = nchw[2],
                       .width = nchw[3], .kernel_h = kernel[0], .kernel_w = kernel[1],
                       .stride_h = stride[0], .stride_w = stride[1],
                       .dilation_h = dilation[0], .dilation_w = dilation[1],
                       .pad_top = pad[0], .pad_left = pad[2]};
    w.out_h = plexus::window_output(w.height, w.kernel_h, w.stride_h, w.dilation_h, pad[0], pad[1]);
    w.out_w = plexus::window_output(w.width, w.kernel_w, w.stride_w, w.dilation_w, pad[2], pad[3]);
    return w;
}

// `values` on device d as a view 5 floats into a larger buffer.
Tensor at_offset(Device& d, const Floats& values) {
    const Tensor t = d.alloc({values.size() + 5}).rows(5, values.size());
    d.upload(t, values);
    return t;
}

// Random values; with `levels`, drawn from that many integers only, so windows hold ties.
Floats draw(std::size_t n, std::mt19937& rng, int levels = 0) {
    std::uniform_real_distribution<float> real(-2.0f, 2.0f);
    std::uniform_int_distribution<int> level(0, std::max(levels - 1, 0));
    Floats v(n);
    for (float& x : v) x = levels ? static_cast<float>(level(rng)) : real(rng);
    return v;
}

// Runs op(device, inputs on it, output on it) on both devices; the outputs must agree within
// `tolerance` (relative to 1 + |cpu value|).
template <class Op>
void compare(const std::string& what, const std::vector<Floats>& inputs, std::size_t out_n,
             Op op, float tolerance) {
    Floats result[2];
    Device* devices[2] = {&cpu(), &opencl()};
    for (int k = 0; k < 2; ++k) {
        std::vector<Tensor> in;
        for (const Floats& v : inputs) in.push_back(at_offset(*devices[k], v));
        const Tensor out = at_offset(*devices[k], Floats(out_n, kNaN));
        op(*devices[k], in, out);
        result[k] = plexus::testing::to_host(*devices[k], out);
    }
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < out_n; ++i)
        wrong += !(std::fabs(result[0][i] - result[1][i]) <= tolerance * (1 + std::fabs(result[0][i])));
    BOOST_TEST(wrong == 0u, what << ": " << wrong << " of " << out_n << " differ");
}

BOOST_AUTO_TEST_CASE(window_ops_match_cpu) {
    using plexus::PoolOp;
    std::mt19937 rng(14);
    const plexus::Window2d windows[] = {
        window({2, 3, 7, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}),    // same, odd sizes
        window({1, 1, 5, 6}, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}),    // 1x1, batch 1, one channel
        window({2, 5, 8, 11}, {3, 5}, {2, 2}, {1, 1}, {0, 1, 2, 2}),   // same, pad_top 0, bottom 1
        window({3, 2, 7, 7}, {4, 4}, {2, 2}, {1, 1}, {1, 2, 1, 2}),    // same, pad_top 1, bottom 2
        window({2, 3, 10, 7}, {3, 3}, {1, 1}, {2, 2}, {2, 2, 2, 2}),   // dilation 2
        window({2, 3, 7, 9}, {2, 2}, {2, 2}, {1, 1}, {0, 0, 0, 0}),    // pooling, floor
        window({1, 5, 9, 8}, {3, 2}, {2, 3}, {2, 1}, {1, 1, 0, 1})};   // everything uneven
    for (const plexus::Window2d& w : windows) {
        const std::string g = "N=" + std::to_string(w.batch) + " C=" + std::to_string(w.channels) +
                              " " + std::to_string(w.height) + "x" + std::to_string(w.width) +
                              " k=" + std::to_string(w.kernel_h) + "x" + std::to_string(w.kernel_w) +
                              " out=" + std::to_string(w.out_h) + "x" + std::to_string(w.out_w);
        const std::size_t in_n = w.batch * w.channels * w.in_plane();
        const std::size_t out_n = w.batch * w.channels * w.out_plane();
        const std::size_t col_n = w.batch * w.out_plane() * w.patch();
        compare("im2col " + g, {draw(in_n, rng)}, col_n,
                [&](Device& d, auto& in, const Tensor& out) { d.im2col(in[0], out, w); }, 0.0f);
        compare("col2im " + g, {draw(col_n, rng)}, in_n,
                [&](Device& d, auto& in, const Tensor& out) { d.col2im(in[0], out, w); }, 1e-5f);
        for (int levels : {0, 3}) {  // 3 levels: ties in every window
            const Floats x = draw(in_n, rng, levels);
            compare("pool2d max " + g, {x}, out_n, [&](Device& d, auto& in, const Tensor& out) {
                d.pool2d(PoolOp::max, in[0], out, Tensor(), w);
            }, 0.0f);
            compare("pool2d argmax " + g, {x}, out_n, [&](Device& d, auto& in, const Tensor& out) {
                d.pool2d(PoolOp::max, in[0], d.alloc({out_n}), out, w);
            }, 0.0f);
            // max backward through each device's own argmax (identical, as checked above)
            compare("pool2d_backward max " + g, {x, draw(out_n, rng)}, in_n,
                    [&](Device& d, auto& in, const Tensor& out) {
                        const Tensor argmax = d.alloc({out_n});
                        d.pool2d(PoolOp::max, in[0], d.alloc({out_n}), argmax, w);
                        d.pool2d_backward(PoolOp::max, in[1], argmax, out, w);
                    }, 1e-5f);
        }
        compare("pool2d avg " + g, {draw(in_n, rng)}, out_n,
                [&](Device& d, auto& in, const Tensor& out) {
                    d.pool2d(PoolOp::avg, in[0], out, Tensor(), w);
                }, 1e-5f);
        compare("pool2d_backward avg " + g, {draw(out_n, rng)}, in_n,
                [&](Device& d, auto& in, const Tensor& out) {
                    d.pool2d_backward(PoolOp::avg, in[0], Tensor(), out, w);
                }, 1e-5f);
    }
    // Transposes smaller than, equal to and beyond the 16 x 16 tile, batched.
    for (auto [b, r, c] : {std::array<std::size_t, 3>{1, 1, 1}, {2, 17, 33}, {3, 16, 16},
                           {1, 5, 300}, {4, 33, 1}, {2, 64, 49}}) {
        compare("transpose " + std::to_string(b) + "x" + std::to_string(r) + "x" + std::to_string(c),
                {draw(b * r * c, rng)}, b * r * c,
                [&](Device& d, auto& in, const Tensor& out) { d.transpose(in[0], out, b, r, c); },
                0.0f);
    }
    // Runs moved whole: shorter and longer than a work-group, and conv2d's block permute.
    for (auto [b, r, c, k] : {std::array<std::size_t, 4>{1, 2, 3, 2}, {2, 5, 3, 17},
                              {1, 32, 16, 196}, {3, 1, 4, 7}}) {
        compare("transpose " + std::to_string(b) + "x" + std::to_string(r) + "x" +
                    std::to_string(c) + " of " + std::to_string(k),
                {draw(b * r * c * k, rng)}, b * r * c * k,
                [&](Device& d, auto& in, const Tensor& out) {
                    d.transpose(in[0], out, b, r, c, k);
                },
                0.0f);
    }
}

BOOST_AUTO_TEST_CASE(errors_name_the_op_and_operand) {
    Device& d = opencl();
    const Tensor a = d.alloc({2, 3}), b = d.alloc({2, 2}), c = d.alloc({2, 2});
    BOOST_CHECK_EXCEPTION(d.gemm(Transpose::no, Transpose::no, 1, a, b, 0, c), DeviceError,
                          [](const DeviceError& e) { return std::string(e.what()).find("gemm: op(a) is 2x3") != std::string::npos; });
    BOOST_CHECK_THROW(d.binary(BinaryOp::add, a, d.alloc({4}), d.alloc({2, 3})), DeviceError);
    BOOST_CHECK_THROW(d.unary(UnaryOp::neg, a, b), DeviceError);
    const Tensor on_cpu = cpu().alloc({2, 2});
    BOOST_CHECK_EXCEPTION(d.copy(on_cpu, c), DeviceError, [](const DeviceError& e) {
        return std::string(e.what()).find("another device") != std::string::npos;
    });
    BOOST_CHECK_THROW(d.reduce(ReduceOp::mean, d.alloc({0, 3}), Axis::rows, d.alloc({3})), DeviceError);
}

BOOST_AUTO_TEST_CASE(a_tensor_too_large_names_its_size_and_suggests_a_smaller_batch) {
    // 15.6 GB: beyond PoCL's largest buffer here (a quarter of memory) and beyond most GPUs'.
    BOOST_CHECK_EXCEPTION(opencl().alloc({3900000, 1000}), DeviceError, [](const DeviceError& e) {
        const std::string m = e.what();
        return m.find("15600000000 bytes") != std::string::npos &&
               m.find("smaller batch") != std::string::npos;
    });
}

BOOST_AUTO_TEST_SUITE_END()

// Uploads return before the transfer has run (they are staged in pinned buffers and queued
// behind the kernels); these check that the host's memory is free to reuse at once and that
// the queue keeps every upload in order with the kernels around it.
BOOST_AUTO_TEST_SUITE(uploads)

// A GEMM of about 0.1 s on PoCL, queued first so the uploads after it are still pending
// when the host overwrites their sources.
void keep_the_queue_busy(Device& d) {
    static const Tensor a = d.alloc({512, 512}), c = d.alloc({512, 512});
    d.fill(a, 0.5f);
    d.gemm(Transpose::no, Transpose::no, 1.0f, a, a, 0.0f, c);
}

BOOST_AUTO_TEST_CASE(the_host_buffer_may_be_reused_when_upload_returns) {
    Device& d = opencl();
    // More uploads than staging slots, sizes that make slots grow (over 1 MiB), and one over
    // the staging limit (16 MiB), which blocks.
    const std::vector<std::size_t> sizes = {1, 7, 300000, 5, 1 << 20, 3, 4500000, 2, 300001, 9};
    std::vector<Tensor> tensors;
    keep_the_queue_busy(d);
    Floats host;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        tensors.push_back(d.alloc({sizes[i]}));
        host.assign(sizes[i], 0.0f);
        for (std::size_t j = 0; j < sizes[i]; ++j) host[j] = static_cast<float>(i * 1000 + j % 997);
        d.upload(tensors.back(), host);
        std::fill(host.begin(), host.end(), kNaN);  // what the transfer must not see
    }
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        const Floats got = plexus::testing::to_host(d, tensors[i]);
        std::size_t wrong = 0;
        for (std::size_t j = 0; j < sizes[i]; ++j)
            wrong += got[j] != static_cast<float>(i * 1000 + j % 997);
        BOOST_TEST(wrong == 0u, "upload " << i << " of " << sizes[i] << " floats: " << wrong << " wrong");
    }
}

BOOST_AUTO_TEST_CASE(uploads_stay_in_order_with_the_kernels_around_them) {
    Device& d = opencl();
    const Tensor x = d.alloc({4, 3}), y = d.alloc({4, 3});
    d.upload(x, Floats(12, 1.0f));
    keep_the_queue_busy(d);
    d.unary(UnaryOp::scale, x, y, 2.0f);        // reads the first upload ...
    d.upload(x.rows(1, 2), Floats(6, 10.0f));   // ... before this one overwrites rows 1-2
    d.binary(BinaryOp::add, x, y, y);           // reads the second
    BOOST_TEST((plexus::testing::to_host(d, y) ==
                Floats{3, 3, 3, 12, 12, 12, 12, 12, 12, 3, 3, 3}));
    BOOST_TEST((plexus::testing::to_host(d, x) ==
                Floats{1, 1, 1, 10, 10, 10, 10, 10, 10, 1, 1, 1}));
}

BOOST_AUTO_TEST_SUITE_END()

#ifdef PLEXUS_HAVE_CLBLAST
// CLBlast is chosen on GPUs; on PoCL it is asked for explicitly. Its GEMM must agree with the
// CPU device like ours does (or, should it fail here, the own kernel must have taken over).
BOOST_AUTO_TEST_CASE(clblast_gemm_matches_cpu) {
    static auto clblast = load("opencl gemm=clblast");
    BOOST_TEST(clblast->description().find("GEMM: CLBlast") != std::string::npos,
               clblast->description());
    check_all("gemm", *clblast);
    // No case made it fall back to the own kernel (its scratch buffer was big enough).
    BOOST_TEST(clblast->description().find("CLBlast failed") == std::string::npos,
               clblast->description());
}
#endif
