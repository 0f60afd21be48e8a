// CPU device tests. Every expected value is worked out by hand (or from a published
// reference such as Random123's known-answer vectors), never produced by the device itself.
// The tests are split by concern: primitive ops here, random draws in test_cpu_random.cpp,
// fused kernels in test_cpu_fused.cpp, the instruction-set variants and threads in
// test_cpu_variants.cpp (one executable; the last file's last case changes OpenBLAS's
// process-wide thread count).
#define BOOST_TEST_MODULE cpu_device
#include "test_cpu_support.hpp"

using namespace cpu_test;

#if defined(__SANITIZE_ADDRESS__)
// The out-of-memory test needs aligned_alloc to return null as it does in production, not
// ASan's default abort on absurd sizes. This replaces cmake/sanitizer_defaults.cpp's weak
// definition, so it repeats its option (why: that file).
extern "C" const char* __asan_default_options() {
    return "allocator_may_return_null=1:intercept_tls_get_addr=0";
}
#endif

BOOST_FIXTURE_TEST_SUITE(cpu_device, Cpu)


BOOST_AUTO_TEST_CASE(identity) {
    BOOST_TEST(dev->name() == "cpu");
    BOOST_TEST(dev->description().rfind("cpu: OpenBLAS", 0) == 0, dev->description());
}

// A = [[1,2,3],[4,5,6]] (2x3), B = [[1,0,2,1],[0,1,1,2],[1,1,0,1]] (3x4):
// A*B = [[4,5,4,8],[10,11,13,20]]; with alpha 1, beta 2 and C0 below: [[6,7,6,10],[10,11,13,18]].
BOOST_AUTO_TEST_CASE(gemm_all_transpose_combinations) {
    const Floats a = {1, 2, 3, 4, 5, 6}, at = {1, 4, 2, 5, 3, 6};
    const Floats b = {1, 0, 2, 1, 0, 1, 1, 2, 1, 1, 0, 1};
    const Floats bt = {1, 0, 1, 0, 1, 1, 2, 1, 0, 1, 2, 1};
    const Floats c0 = {1, 1, 1, 1, 0, 0, 0, -1}, want = {6, 7, 6, 10, 10, 11, 13, 18};
    for (Transpose ta : {Transpose::no, Transpose::yes}) {
        for (Transpose tb : {Transpose::no, Transpose::yes}) {
            BOOST_TEST_CONTEXT("ta=" << (ta == Transpose::yes)
                                     << " tb=" << (tb == Transpose::yes)) {
                const Tensor ta_ = ta == Transpose::yes ? make({3, 2}, at) : make({2, 3}, a);
                const Tensor tb_ = tb == Transpose::yes ? make({4, 3}, bt) : make({3, 4}, b);
                const Tensor c = make({2, 4}, c0);
                dev->gemm(ta, tb, 1.0f, ta_, tb_, 2.0f, c);
                check_close(host(c), want);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(gemm_alpha_beta_views_and_aliasing_inputs) {
    // A*B2 with B2 = [[7,8],[9,10],[11,12]] is [[58,64],[139,154]]; 2*that + 0.5*[[1,2],[3,4]].
    const Tensor big = make({3, 3}, {99, 99, 99, 1, 2, 3, 4, 5, 6});
    const Tensor a = big.rows(1, 2);  // a view with a non-zero offset
    const Tensor b = make({3, 2}, {7, 8, 9, 10, 11, 12});
    const Tensor c = make({2, 2}, {1, 2, 3, 4});
    dev->gemm(Transpose::no, Transpose::no, 2.0f, a, b, 0.5f, c);
    check_close(host(c), {116.5f, 129, 279.5f, 310});
    check_close(host(big), {99, 99, 99, 1, 2, 3, 4, 5, 6});

    // A^T A with the same tensor as both operands: [[17,22,27],[22,29,36],[27,36,45]].
    const Tensor ata = dev->alloc({3, 3});
    dev->gemm(Transpose::yes, Transpose::no, 1.0f, a, a, 0.0f, ata);
    check_close(host(ata), {17, 22, 27, 22, 29, 36, 27, 36, 45});

    // beta = 0 must not read c: NaN garbage in c does not leak into the result.
    const Tensor garbage = make({2, 2}, {kNaN, kNaN, kNaN, kNaN});
    dev->gemm(Transpose::no, Transpose::no, 1.0f, a, b, 0.0f, garbage);
    check_close(host(garbage), {58, 64, 139, 154});

    // K = 0: the product is empty, so c = beta * c.
    const Tensor e1 = dev->alloc({2, 0}), e2 = dev->alloc({0, 3});
    const Tensor c3 = make({2, 3}, {1, 1, 1, 2, 2, 2});
    dev->gemm(Transpose::no, Transpose::no, 1.0f, e1, e2, 3.0f, c3);
    check_close(host(c3), {3, 3, 3, 6, 6, 6});
}

BOOST_AUTO_TEST_CASE(gemm_shape_errors) {
    const Tensor a = make({2, 3}, {1, 2, 3, 4, 5, 6});
    const Tensor b22 = dev->alloc({2, 2}), b32 = dev->alloc({3, 2});
    const Tensor c22 = dev->alloc({2, 2}), c23 = dev->alloc({2, 3});
    BOOST_CHECK_EXCEPTION(dev->gemm(Transpose::no, Transpose::no, 1, a, b22, 0, c22), DeviceError,
                          [](const DeviceError& e) { return message_contains(e, "[2, 3]"); });
    BOOST_CHECK_THROW(dev->gemm(Transpose::no, Transpose::no, 1, a, b32, 0, c23), DeviceError);
    // op(a) = a^T is 3x2, which does not chain with a 3x2 b.
    BOOST_CHECK_THROW(dev->gemm(Transpose::yes, Transpose::no, 1, a, b32, 0, c22), DeviceError);
    // c overlapping an input would be silently wrong in BLAS.
    BOOST_CHECK_THROW(
        dev->gemm(Transpose::no, Transpose::no, 1, a, b32, 0, a.reshaped({3, 2}).rows(0, 2)),
        DeviceError);
}

BOOST_AUTO_TEST_CASE(fill_and_copy) {
    const Tensor x = dev->alloc({2, 3});
    dev->fill(x, 2.5f);
    check_close(host(x), {2.5f, 2.5f, 2.5f, 2.5f, 2.5f, 2.5f});
    const Tensor src = make({3, 2}, {1, 2, 3, 4, 5, 6});
    dev->copy(src, x);  // equal numel, different shape is fine
    check_close(host(x), {1, 2, 3, 4, 5, 6});
    const Tensor row = x.rows(1, 1);
    dev->fill(row, -1.0f);
    check_close(host(x), {1, 2, 3, -1, -1, -1});
    BOOST_CHECK_THROW(dev->copy(src, dev->alloc({5})), DeviceError);
}

BOOST_AUTO_TEST_CASE(unary_ops) {
    const Tensor x = make({5}, {-2, -0.5f, 0, 1, 4});
    const Tensor y = dev->alloc({5});
    auto run = [&](UnaryOp op, float alpha = 0.0f) {
        dev->unary(op, x, y, alpha);
        return host(y);
    };
    check_close(run(UnaryOp::identity), {-2, -0.5f, 0, 1, 4});
    check_close(run(UnaryOp::scale, 3), {-6, -1.5f, 0, 3, 12});
    check_close(run(UnaryOp::add_scalar, 1.5f), {-0.5f, 1, 1.5f, 2.5f, 5.5f});
    check_close(run(UnaryOp::neg), {2, 0.5f, 0, -1, -4});
    check_close(run(UnaryOp::abs), {2, 0.5f, 0, 1, 4});
    check_close(run(UnaryOp::square), {4, 0.25f, 0, 1, 16});
    check_close(run(UnaryOp::relu), {0, 0, 0, 1, 4});
    check_close(run(UnaryOp::exp), {0.13533528f, 0.60653066f, 1, 2.7182818f, 54.598150f});
    check_close(run(UnaryOp::sigmoid), {0.11920292f, 0.37754067f, 0.5f, 0.73105858f, 0.98201379f});
    check_close(run(UnaryOp::tanh), {-0.96402758f, -0.46211716f, 0, 0.76159416f, 0.99932930f});

    const Tensor p = make({4}, {0.25f, 1, 4, 9});
    const Tensor q = dev->alloc({4});
    dev->unary(UnaryOp::sqrt, p, q);
    check_close(host(q), {0.5f, 1, 2, 3});
    dev->unary(UnaryOp::log, p, q);
    check_close(host(q), {-1.3862944f, 0, 1.3862944f, 2.1972246f});

    // Saturation stays finite, and x may be y.
    const Tensor big = make({2}, {-100, 100});
    dev->unary(UnaryOp::sigmoid, big, big);
    check_close(host(big), {0, 1});
    BOOST_CHECK_THROW(dev->unary(UnaryOp::neg, x, q), DeviceError);
}

BOOST_AUTO_TEST_CASE(binary_elementwise_row_and_scalar) {
    const Tensor a = make({2, 3}, {1, 2, 3, 4, 5, 6});
    const Tensor y = dev->alloc({2, 3});
    auto run = [&](BinaryOp op, const Tensor& b) {
        dev->binary(op, a, b, y);
        return host(y);
    };
    const Tensor full = make({2, 3}, {6, 5, 4, 3, 2, 1});
    check_close(run(BinaryOp::add, full), {7, 7, 7, 7, 7, 7});
    check_close(run(BinaryOp::sub, full), {-5, -3, -1, 1, 3, 5});
    check_close(run(BinaryOp::mul, full), {6, 10, 12, 12, 10, 6});
    check_close(run(BinaryOp::div, full), {1.0f / 6, 0.4f, 0.75f, 4.0f / 3, 2.5f, 6});
    check_close(run(BinaryOp::max, full), {6, 5, 4, 4, 5, 6});
    check_close(run(BinaryOp::min, full), {1, 2, 3, 3, 2, 1});
    check_close(run(BinaryOp::equal, make({2, 3}, {1, 0, 3, 0, 5, 0})), {1, 0, 1, 0, 1, 0});
    check_close(run(BinaryOp::relu_backward, make({2, 3}, {-1, 0, 2, 3, -4, 0.5f})),
                {0, 0, 3, 4, 0, 6});

    const Tensor row = make({3}, {10, 20, 30});
    check_close(run(BinaryOp::add, row), {11, 22, 33, 14, 25, 36});
    check_close(run(BinaryOp::sub, row), {-9, -18, -27, -6, -15, -24});
    check_close(run(BinaryOp::mul, row), {10, 40, 90, 40, 100, 180});
    check_close(run(BinaryOp::div, row), {0.1f, 0.1f, 0.1f, 0.4f, 0.25f, 0.2f});
    check_close(run(BinaryOp::max, make({1, 3}, {2, 2, 7})), {2, 2, 7, 4, 5, 7});
    check_close(run(BinaryOp::min, make({1, 3}, {2, 2, 7})), {1, 2, 3, 2, 2, 6});
    check_close(run(BinaryOp::equal, make({3}, {1, 5, 6})), {1, 0, 0, 0, 1, 1});
    check_close(run(BinaryOp::relu_backward, make({3}, {1, -1, 0})), {1, 0, 0, 4, 0, 0});

    const Tensor two = make({1}, {2});
    check_close(run(BinaryOp::mul, two), {2, 4, 6, 8, 10, 12});
    check_close(run(BinaryOp::sub, two), {-1, 0, 1, 2, 3, 4});
    check_close(run(BinaryOp::div, two), {0.5f, 1, 1.5f, 2, 2.5f, 3});
    check_close(run(BinaryOp::max, two), {2, 2, 3, 4, 5, 6});
    check_close(run(BinaryOp::min, two), {1, 2, 2, 2, 2, 2});
    check_close(run(BinaryOp::equal, two), {0, 1, 0, 0, 0, 0});

    // Rank 3: a row is everything after the first dimension.
    const Tensor cube = make({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
    dev->binary(BinaryOp::add, cube, make({4}, {10, 20, 30, 40}), cube);  // y aliases a
    check_close(host(cube), {11, 22, 33, 44, 15, 26, 37, 48});

    BOOST_CHECK_THROW(dev->binary(BinaryOp::add, a, make({2}, {1, 2}), y), DeviceError);
    BOOST_CHECK_THROW(dev->binary(BinaryOp::add, a, full, dev->alloc({5})), DeviceError);
}

BOOST_AUTO_TEST_CASE(axpby) {
    const Tensor x = make({3}, {1, 2, 3});
    const Tensor y = make({3}, {10, 20, 30});
    dev->axpby(2.0f, x, -1.0f, y);
    check_close(host(y), {-8, -16, -24});
    const Tensor ones = make({3}, {1, 1, 1});
    dev->axpby(0.5f, x, 1.0f, ones);
    check_close(host(ones), {1.5f, 2, 2.5f});
    const Tensor garbage = make({3}, {kNaN, kNaN, kNaN});  // beta = 0 does not read y
    dev->axpby(2.0f, x, 0.0f, garbage);
    check_close(host(garbage), {2, 4, 6});
    BOOST_CHECK_THROW(dev->axpby(1, x, 1, dev->alloc({4})), DeviceError);
}

// x = [[1,5,2,5],[7,0,7,-1],[3,5,1,2]], with ties in rows 0 and 1 and in columns 1 and 3.
BOOST_AUTO_TEST_CASE(reduce_all_axes) {
    const Tensor x = make({3, 4}, {1, 5, 2, 5, 7, 0, 7, -1, 3, 5, 1, 2});
    auto run = [&](ReduceOp op, Axis axis, std::size_t n) {
        const Tensor y = dev->alloc({n});
        dev->reduce(op, x, axis, y);
        return host(y);
    };
    check_close(run(ReduceOp::sum, Axis::rows, 4), {11, 10, 10, 6});
    check_close(run(ReduceOp::mean, Axis::rows, 4), {11.0f / 3, 10.0f / 3, 10.0f / 3, 2});
    check_close(run(ReduceOp::max, Axis::rows, 4), {7, 5, 7, 5});
    check_close(run(ReduceOp::argmax, Axis::rows, 4), {1, 0, 1, 0});
    check_close(run(ReduceOp::sum, Axis::cols, 3), {13, 13, 11});
    check_close(run(ReduceOp::mean, Axis::cols, 3), {3.25f, 3.25f, 2.75f});
    check_close(run(ReduceOp::max, Axis::cols, 3), {5, 7, 5});
    check_close(run(ReduceOp::argmax, Axis::cols, 3), {1, 0, 1});
    check_close(run(ReduceOp::sum, Axis::all, 1), {37});
    check_close(run(ReduceOp::mean, Axis::all, 1), {37.0f / 12});
    check_close(run(ReduceOp::max, Axis::all, 1), {7});
    check_close(run(ReduceOp::argmax, Axis::all, 1), {4});

    const Tensor negative = make({1, 4}, {-3, -1, -1, -2});
    const Tensor one = dev->alloc({1});
    dev->reduce(ReduceOp::argmax, negative, Axis::cols, one);
    check_close(host(one), {1});
    dev->reduce(ReduceOp::max, negative, Axis::all, one);
    check_close(host(one), {-1});

    BOOST_CHECK_THROW(dev->reduce(ReduceOp::sum, x, Axis::rows, dev->alloc({3})), DeviceError);
    BOOST_CHECK_THROW(dev->reduce(ReduceOp::sum, x, Axis::all, dev->alloc({2})), DeviceError);
}

BOOST_AUTO_TEST_CASE(reduce_wide_and_cancelling) {
    // 300 columns cross the 256-column block; x[r][c] = 1000 r + c, except x[0][299] = 1e6.
    Floats values(3 * 300);
    for (std::size_t r = 0; r < 3; ++r)
        for (std::size_t c = 0; c < 300; ++c) values[r * 300 + c] = 1000.0f * r + c;
    values[299] = 1e6f;
    const Tensor x = make({3, 300}, values);
    const Tensor y = dev->alloc({300});
    dev->reduce(ReduceOp::sum, x, Axis::rows, y);
    Floats want(300);
    for (std::size_t c = 0; c < 300; ++c) want[c] = 3000.0f + 3.0f * c;
    want[299] = 1e6f + 1299 + 2299;
    check_close(host(y), want);
    dev->reduce(ReduceOp::argmax, x, Axis::rows, y);
    Floats arg(300, 2.0f);
    arg[299] = 0;
    check_close(host(y), arg);

    // 1e8 + 1000 ones - 1e8 is exactly 1000; a float running sum would give 0.
    Floats cancel(1002, 1.0f);
    cancel.front() = 1e8f;
    cancel.back() = -1e8f;
    const Tensor c = make({1, 1002}, cancel);
    const Tensor s = dev->alloc({1});
    dev->reduce(ReduceOp::sum, c, Axis::all, s);
    check_close(host(s), {1000});
    dev->reduce(ReduceOp::sum, c, Axis::cols, s);
    check_close(host(s), {1000});
}

BOOST_AUTO_TEST_CASE(softmax_and_log_softmax) {
    // softmax([0,1,2]) = e^k / (1 + e + e^2) with 1 + e + e^2 = 11.107338; log 11.107338
    // = 2.4076060.
    const Floats x = {1000, 1001, 1002, -5, -5, -5};
    const Tensor in = make({2, 3}, x);
    const Tensor y = dev->alloc({2, 3});
    dev->softmax(in, y);
    const float third = 1.0f / 3;
    check_close(host(y), {0.09003057f, 0.24472847f, 0.66524096f, third, third, third});
    dev->softmax(in, y, true);
    const float lt = -1.0986123f;
    check_close(host(y), {-2.4076060f, -1.4076060f, -0.40760596f, lt, lt, lt});

    // In place, on [1000, 1001]: 1/(1+e), e/(1+e) and their logs -log(1+e), -log(1+1/e).
    const Tensor pair = make({1, 2}, {1000, 1001});
    dev->softmax(pair, pair);
    check_close(host(pair), {0.26894142f, 0.73105858f});
    const Tensor lpair = make({1, 2}, {1000, 1001});
    dev->softmax(lpair, lpair, true);
    check_close(host(lpair), {-1.3132617f, -0.31326169f});
    BOOST_CHECK_THROW(dev->softmax(in, dev->alloc({5})), DeviceError);
}

BOOST_AUTO_TEST_CASE(counters_and_alignment) {
    const plexus::DeviceCounters before = dev->counters();
    {
        const Tensor t = dev->alloc({3, 5});
        BOOST_TEST(dev->counters().allocations == before.allocations + 1);
        BOOST_TEST(dev->counters().alloc_bytes == before.alloc_bytes + 60);
        BOOST_TEST(dev->counters().live_bytes == before.live_bytes + 60);
        BOOST_TEST(reinterpret_cast<std::uintptr_t>(t.handle()) % 64 == 0u);

        dev->upload(t, Floats(15, 1.0f));
        BOOST_TEST(dev->counters().h2d_bytes == before.h2d_bytes + 60);
        dev->unary(UnaryOp::scale, t, t, 2.0f);  // ops move nothing across
        dev->reduce(ReduceOp::sum, t, Axis::rows, dev->alloc({5}));
        BOOST_TEST(dev->counters().h2d_bytes == before.h2d_bytes + 60);
        BOOST_TEST(dev->counters().d2h_bytes == before.d2h_bytes);
        BOOST_TEST(dev->download_scalar(t.reshaped({15, 1}).rows(14, 1)) == 2.0f);
        BOOST_TEST(dev->counters().d2h_bytes == before.d2h_bytes + 4);
        BOOST_TEST(dev->counters().allocations == before.allocations + 2);
    }
    BOOST_TEST(dev->counters().live_bytes == before.live_bytes);
    for (std::size_t n : {1u, 3u, 17u, 1000u})
        BOOST_TEST(reinterpret_cast<std::uintptr_t>(dev->alloc({n}).handle()) % 64 == 0u);
}

BOOST_AUTO_TEST_CASE(foreign_and_empty_tensors_are_refused) {
    auto dev2 = load_cpu();
    const Tensor mine = make({2}, {1, 2});
    const Tensor theirs = dev2->alloc({2});
    BOOST_CHECK_THROW(dev->copy(theirs, mine), DeviceError);
    BOOST_CHECK_THROW(dev->fill(theirs, 0.0f), DeviceError);
    BOOST_CHECK_THROW(dev->binary(BinaryOp::add, mine, theirs, mine), DeviceError);
    BOOST_CHECK_THROW(dev->unary(UnaryOp::neg, Tensor{}, mine), DeviceError);
}

BOOST_AUTO_TEST_CASE(out_of_memory_names_the_size) {
    // 2^58 floats = 2^60 bytes: more than any address space.
    BOOST_CHECK_EXCEPTION(
        dev->alloc({std::size_t{1} << 58}), DeviceError,
        [](const DeviceError& e) { return message_contains(e, "1152921504606846976 bytes"); });
}

BOOST_AUTO_TEST_CASE(subnormals_are_flushed) {
    // 1e-30 * 1e-10 = 1e-40 is subnormal: FTZ makes it 0. 1e-40 * 1e30 would be 1e-10, but
    // DAZ reads the subnormal input as 0.
    const Tensor tiny = make({1}, {1e-30f});
    dev->unary(UnaryOp::scale, tiny, tiny, 1e-10f);
    BOOST_TEST(host(tiny)[0] == 0.0f);
    const Tensor sub = make({1}, {1e-40f});
    dev->unary(UnaryOp::scale, sub, sub, 1e30f);
    BOOST_TEST(host(sub)[0] == 0.0f);
}

BOOST_AUTO_TEST_CASE(activation_unary_ops) {
    const Tensor x = make({5}, {-2, -0.5f, 0, 1, 4});
    const Tensor y = dev->alloc({5});
    auto run = [&](UnaryOp op, float alpha = 0.0f) {
        dev->unary(op, x, y, alpha);
        return host(y);
    };
    check_close(run(UnaryOp::sign), {-1, -1, 0, 1, 1});
    check_close(run(UnaryOp::leaky_relu, 0.1f), {-0.2f, -0.05f, 0, 1, 4});
    // alpha*(e^x - 1): e^-2 = 0.13533528, e^-0.5 = 0.60653066.
    check_close(run(UnaryOp::elu, 1.0f), {-0.86466472f, -0.39346934f, 0, 1, 4});
    check_close(run(UnaryOp::elu, 2.0f), {-1.7293294f, -0.78693868f, 0, 1, 4});
    check_close(run(UnaryOp::clip, 1.0f), {-1, -0.5f, 0, 1, 1});
    check_close(run(UnaryOp::clip, 3.0f), {-2, -0.5f, 0, 1, 3});
    const Tensor p = make({4}, {0.25f, 1, 4, -2});
    dev->unary(UnaryOp::reciprocal, p, p);  // in place
    check_close(host(p), {4, 1, 0.25f, -0.5f});
}

BOOST_AUTO_TEST_CASE(activation_backward_and_greater_binary_ops) {
    const Tensor a = make({2, 3}, {1, 2, 3, 4, 5, 6});  // dy
    const Tensor y = dev->alloc({2, 3});
    auto run = [&](BinaryOp op, const Tensor& b, float alpha = 0.0f) {
        dev->binary(op, a, b, y, alpha);
        return host(y);
    };
    // b is the input x: slope alpha where x <= 0 (including 0), 1 elsewhere.
    const Tensor input = make({2, 3}, {-1, 0, 2, 3, -4, 0.5f});
    check_close(run(BinaryOp::leaky_relu_backward, input, 0.5f), {0.5f, 1, 3, 4, 2.5f, 6});
    // dy * alpha * e^x where x <= 0: 2 e^-1 = 0.73575888, 2*2*e^0 = 4, 10 e^-4 = 0.18315639.
    check_close(run(BinaryOp::elu_backward, input, 2.0f), {0.73575888f, 4, 3, 4, 0.18315639f, 6});
    // b is the output: dy*y*(1-y) and dy*(1-y^2).
    const Tensor out = make({2, 3}, {0.5f, 0.25f, 0, 1, 0.1f, 0.9f});
    check_close(run(BinaryOp::sigmoid_backward, out), {0.25f, 0.375f, 0, 0, 0.45f, 0.54f});
    check_close(run(BinaryOp::tanh_backward, out), {0.75f, 1.875f, 3, 0, 4.95f, 1.14f});
    check_close(run(BinaryOp::greater, make({2, 3}, {0, 2, 4, 4, 6, 5})), {1, 0, 0, 0, 0, 1});
    check_close(run(BinaryOp::greater, make({3}, {2, 2, 7})), {0, 0, 0, 1, 1, 0});
    check_close(run(BinaryOp::greater, make({1}, {3})), {0, 0, 0, 1, 1, 1});
}

BOOST_AUTO_TEST_CASE(softmax_backward) {
    // Row 0: y = (0.5, 0.25, 0.25), dy = (1, 2, 3): y.dy = 1.75, dx = y*(dy - 1.75).
    // Row 1: y = (0.1, 0.6, 0.3), dy = (0, 1, 0): y.dy = 0.6.
    const Tensor y = make({2, 3}, {0.5f, 0.25f, 0.25f, 0.1f, 0.6f, 0.3f});
    const Tensor dy = make({2, 3}, {1, 2, 3, 0, 1, 0});
    const Tensor dx = dev->alloc({2, 3});
    dev->softmax_backward(y, dy, dx);
    const Floats want = {-0.375f, 0.0625f, 0.3125f, -0.06f, 0.24f, -0.18f};
    check_close(host(dx), want);
    dev->softmax_backward(y, dy, dy);  // dx may alias dy
    check_close(host(dy), want);
    BOOST_CHECK_THROW(dev->softmax_backward(y, dev->alloc({5}), dx), DeviceError);
}

BOOST_AUTO_TEST_CASE(empty_tensors_upload_and_download_nothing) {
    // Zero bytes: nothing is copied (memcpy is never handed a null buffer; UBSan checks it).
    Tensor empty = dev->alloc({0, 5});
    dev->upload(empty, {});
    Floats none;
    dev->download(empty, none);
    BOOST_TEST(none.empty());
}

BOOST_AUTO_TEST_SUITE_END()
