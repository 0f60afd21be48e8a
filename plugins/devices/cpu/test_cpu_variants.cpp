// The CPU device's two instruction-set variants and its threads.
#include <dlfcn.h>

#include "test_cpu_support.hpp"

using namespace cpu_test;

BOOST_FIXTURE_TEST_SUITE(cpu_variants, Cpu)

BOOST_AUTO_TEST_CASE(baseline_and_avx2_variants_compute_alike) {
    auto base = load_cpu("cpu isa=baseline");
    BOOST_TEST(base->description().find("baseline loops") != std::string::npos, base->description());
    std::shared_ptr<Device> wide;
    try {
        wide = load_cpu("cpu isa=avx2");
    } catch (const std::exception& e) {
        BOOST_TEST_MESSAGE("no AVX2 here, only the baseline variant is checked: " << e.what());
        return;
    }
    BOOST_TEST(wide->description().find("AVX2 loops") != std::string::npos, wide->description());
    const std::size_t rows = 37, cols = 53;  // odd sizes: every vector loop has a tail
    const Floats a = pattern(rows * cols, 3.0f, 0.1f), b = pattern(rows * cols, 2.0f, 1.3f);
    const Floats row = pattern(cols, 1.5f, 0.7f);
    // Elementwise ops round alike (no FMA contraction in either variant): bit-identical.
    const std::vector<std::function<Tensor(Device&)>> exact = {
        [&](Device& d) {
            Tensor x = upload_to(d, {rows, cols}, a), y = d.alloc({rows, cols});
            d.unary(UnaryOp::sigmoid, x, y);
            return y;
        },
        [&](Device& d) {
            Tensor x = upload_to(d, {rows, cols}, a), y = d.alloc({rows, cols});
            d.unary(UnaryOp::sqrt, x, y);  // NaN for negatives in both
            d.unary(UnaryOp::abs, y, y);
            return y;
        },
        [&](Device& d) {
            Tensor x = upload_to(d, {rows, cols}, a), r = upload_to(d, {cols}, row), y = d.alloc({rows, cols});
            d.binary(BinaryOp::add, x, r, y);
            d.binary(BinaryOp::relu_backward, y, x, y);
            return y;
        },
        [&](Device& d) {
            Tensor x = upload_to(d, {rows, cols}, a), z = upload_to(d, {rows, cols}, b);
            d.axpby(0.25f, x, -1.5f, z);
            d.binary(BinaryOp::div, z, x, z);
            return z;
        },
        [&](Device& d) {
            Tensor x = upload_to(d, {rows, cols}, a), y = d.alloc({rows, cols});
            d.softmax(x, y, true);
            return y;
        },
    };
    for (std::size_t i = 0; i < exact.size(); ++i) {
        const Floats x = run_on(*base, exact[i]), y = run_on(*wide, exact[i]);
        BOOST_TEST_REQUIRE(x.size() == y.size());
        for (std::size_t j = 0; j < x.size(); ++j)
            BOOST_TEST((x[j] == y[j] || (std::isnan(x[j]) && std::isnan(y[j]))),
                       "case " << i << " element " << j << ": " << x[j] << " vs " << y[j]);
    }
    // Sums group their terms by the vector width: equal within float rounding.
    for (Axis axis : {Axis::rows, Axis::cols, Axis::all}) {
        const auto sum = [&](Device& d) {
            Tensor x = upload_to(d, {rows, cols}, a);
            Tensor y = d.alloc({axis == Axis::rows ? cols : axis == Axis::cols ? rows : 1});
            d.reduce(ReduceOp::sum, x, axis, y);
            return y;
        };
        check_close(run_on(*wide, sum), run_on(*base, sum), 1e-6f);
    }
}

// c = alpha op(a) op(b) + beta c0 in double (c0 not read when beta == 0); a is [m, k] (or
// [k, m] read transposed), b [k, n] (or [n, k]).
Floats reference_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha,
                      const Floats& a, const Floats& b, float beta, const Floats& c0) {
    Floats want(m * n);
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            double sum = 0.0;
            for (std::size_t p = 0; p < k; ++p)
                sum += double(ta ? a[p * m + i] : a[i * k + p]) * double(tb ? b[j * k + p] : b[p * n + j]);
            want[i * n + j] =
                static_cast<float>(alpha * sum + (beta == 0.0f ? 0.0 : beta * double(c0[i * n + j])));
        }
    return want;
}

// The same product on `device`, c starting as c0.
Floats device_gemm(Device& device, bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k,
                   float alpha, const Floats& a, const Floats& b, float beta, const Floats& c0) {
    return run_on(device, [&](Device& d) {
        const Tensor ta_ = upload_to(d, ta ? Shape{k, m} : Shape{m, k}, a);
        const Tensor tb_ = upload_to(d, tb ? Shape{n, k} : Shape{k, n}, b);
        const Tensor c = upload_to(d, {m, n}, c0);
        d.gemm(ta ? Transpose::yes : Transpose::no, tb ? Transpose::yes : Transpose::no, alpha, ta_,
               tb_, beta, c);
        return c;
    });
}

// Large products go to OpenBLAS or, where the build has oneDNN, to oneDNN (the `gemm`
// parameter): every transpose combination, with alpha and beta, against a product in double.
BOOST_AUTO_TEST_CASE(large_gemms_agree_on_either_library) {
    const std::size_t m = 97, n = 83, k = 601;  // m·n·k above the 2^22 small-product bound
    BOOST_CHECK_THROW(load_cpu("cpu gemm=mkl"), plexus::ParamError);
    for (const char* spec : {"cpu gemm=openblas", "cpu gemm=onednn", "cpu"}) {
        BOOST_TEST_CONTEXT(spec) {
            const auto device = load_cpu(spec);
            const bool onednn = device->fused_keys().contains(plexus::fused::Key::conv2d_forward);
            const bool said = device->description().find("GEMMs on oneDNN") != std::string::npos;
            if (std::string(spec) == "cpu gemm=onednn") BOOST_TEST(said == onednn, device->description());
            if (std::string(spec) == "cpu gemm=openblas") BOOST_TEST(!said, device->description());
            const Floats a = pattern(m * k, 0.01f, -0.3f), b = pattern(k * n, 0.02f, 0.1f),
                         c0 = pattern(m * n, 0.5f, 0.2f);
            for (const bool ta : {false, true})
                for (const bool tb : {false, true})
                    BOOST_TEST_CONTEXT("ta " << ta << " tb " << tb) {
                        check_close(device_gemm(*device, ta, tb, m, n, k, 0.5f, a, b, 0.25f, c0),
                                    reference_gemm(ta, tb, m, n, k, 0.5f, a, b, 0.25f, c0), 1e-4f);
                    }
        }
    }
}

// A device whose products all go to oneDNN ends OpenBLAS's idle threads (which poll for about
// 0.1 s after they start); a device on OpenBLAS made after it gets them back with its first
// threaded product, and that product is right.
BOOST_AUTO_TEST_CASE(devices_on_onednn_end_openblas_threads) {
    const auto openblas = load_cpu("cpu gemm=openblas adapt_threads=false");
    void* lib = dlopen("libopenblas.so.0", RTLD_LAZY | RTLD_NOLOAD);
    const auto* running = lib ? static_cast<const volatile int*>(dlsym(lib, "blas_server_avail")) : nullptr;
    if (!running || openblas->description().find(" 1 thread") != std::string::npos) {
        BOOST_TEST_MESSAGE("no threaded OpenBLAS with blas_server_avail here: skipped");
        return;
    }
    const auto onednn = load_cpu("cpu gemm=onednn adapt_threads=false");
    if (onednn->description().find("GEMMs on oneDNN") == std::string::npos) {
        BOOST_TEST_MESSAGE("no oneDNN module in this build: skipped");
        return;
    }
    BOOST_TEST(*running == 0);
    const std::size_t m = 256, n = 256, k = 256;  // threaded in OpenBLAS
    const Floats a = pattern(m * k, 0.01f, -0.3f), b = pattern(k * n, 0.02f, 0.1f),
                 c0 = pattern(m * n, 0.5f, 0.2f);
    check_close(device_gemm(*openblas, false, false, m, n, k, 1.0f, a, b, 0.0f, c0),
                reference_gemm(false, false, m, n, k, 1.0f, a, b, 0.0f, c0), 1e-4f);
    BOOST_TEST(*running == 1);
    dlclose(lib);
}

// With beta = 0 c is only written: NaN left in it by earlier work must not reach the result,
// on oneDNN's path (small products, and every product with gemm=onednn) as on OpenBLAS's.
BOOST_AUTO_TEST_CASE(products_with_beta_zero_never_read_c) {
    for (const char* spec : {"cpu gemm=onednn", "cpu gemm=openblas"})
        for (const std::size_t m : {std::size_t{16}, std::size_t{97}}) {
            const std::size_t n = m == 16 ? 24 : 83, k = m == 16 ? 40 : 601;
            BOOST_TEST_CONTEXT(spec << " " << m << "x" << n << "x" << k) {
                const auto device = load_cpu(spec);
                const Floats a = pattern(m * k, 0.01f, -0.3f), b = pattern(k * n, 0.02f, 0.1f);
                const Floats nan(m * n, std::nanf(""));
                for (const float alpha : {1.0f, -2.0f})
                    check_close(device_gemm(*device, false, false, m, n, k, alpha, a, b, 0.0f, nan),
                                reference_gemm(false, false, m, n, k, alpha, a, b, 0.0f, nan), 1e-4f);
            }
        }
}

// Products of K < 8 (bias broadcasts) are the device's own loop while oneDNN runs the large
// ones: every transpose, with alpha and beta (0 with NaN in c, 1, other), against double.
BOOST_AUTO_TEST_CASE(small_k_products_agree_on_either_library) {
    const std::size_t m = 37, n = 29;
    for (const char* spec : {"cpu gemm=onednn", "cpu gemm=openblas"}) {
        const auto device = load_cpu(spec);
        for (const std::size_t k : {std::size_t{1}, std::size_t{3}, std::size_t{7}}) {
            const Floats a = pattern(m * k, 0.3f, -0.2f), b = pattern(k * n, 0.7f, 0.1f);
            for (const bool ta : {false, true})
                for (const bool tb : {false, true})
                    for (const float beta : {0.0f, 1.0f, -0.5f}) {
                        const Floats c0 = beta == 0.0f ? Floats(m * n, std::nanf("")) : pattern(m * n, 0.5f, 0.2f);
                        BOOST_TEST_CONTEXT(spec << " k " << k << " ta " << ta << " tb " << tb << " beta " << beta) {
                            check_close(device_gemm(*device, ta, tb, m, n, k, 1.5f, a, b, beta, c0),
                                        reference_gemm(ta, tb, m, n, k, 1.5f, a, b, beta, c0), 1e-5f);
                        }
                    }
        }
    }
}

// oneDNN's products are primitives made per shape and kept (onednn_gemm.cpp), at most 256:
// more shapes than that, then the first ones again, all still right.
BOOST_AUTO_TEST_CASE(products_of_many_shapes_stay_right) {
    const auto device = load_cpu("cpu gemm=onednn");
    const std::size_t n = 8, k = 8;
    std::vector<std::size_t> rows;
    for (std::size_t m = 1; m <= 300; ++m) rows.push_back(m);
    for (std::size_t m = 1; m <= 20; ++m) rows.push_back(m);
    for (const std::size_t m : rows) {
        const Floats a = pattern(m * k, 0.5f, 0.1f * static_cast<float>(m)), b = pattern(k * n, 0.3f, -0.2f);
        const Floats none(m * n, 0.0f);
        BOOST_TEST_CONTEXT("m " << m) {
            check_close(device_gemm(*device, false, false, m, n, k, 1.0f, a, b, 0.0f, none),
                        reference_gemm(false, false, m, n, k, 1.0f, a, b, 0.0f, none), 1e-5f);
        }
    }
}

BOOST_AUTO_TEST_CASE(threads_parameter) {
    BOOST_CHECK_THROW(load_cpu("cpu threads=-1"), plexus::ParamError);
    // Process-wide, so this case runs last.
    auto one = load_cpu("cpu threads=1");
    BOOST_TEST(one->description().find("1 thread)") != std::string::npos, one->description());
}
BOOST_AUTO_TEST_SUITE_END()
