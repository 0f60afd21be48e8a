// The CPU device's fused kernels (plexus/fused.hpp), against hand-computed values and the
// primitive ops.
#include "test_cpu_support.hpp"

using namespace cpu_test;
namespace fused = plexus::fused;

BOOST_FIXTURE_TEST_SUITE(cpu_fused, Cpu)

// x = [[1,0],[3,0],[5,0],[7,8]]: feature 0 has mean 4 and biased variance 5, feature 1 mean 2
// and variance 12; with epsilon 4, invstd = (1/3, 1/4). gamma = (2, -1), beta = (0.5, 1).
BOOST_AUTO_TEST_CASE(fused_batchnorm_forward) {
    const Tensor x = make({4, 2}, {1, 0, 3, 0, 5, 0, 7, 8});
    const Tensor gamma = make({2}, {2, -1}), beta = make({2}, {0.5f, 1});
    Tensor y = dev->alloc({4, 2}), xhat = dev->alloc({4, 2});
    Tensor mean = dev->alloc({2}), invstd = dev->alloc({2});
    Tensor mm = make({2}, {0, 0}), mv = make({2}, {1, 1});
    BOOST_TEST(dev->try_fused(fused::BatchNormForwardTrain{.x = x,
                                                           .gamma = &gamma,
                                                           .beta = &beta,
                                                           .y = y,
                                                           .xhat = xhat,
                                                           .mean = mean,
                                                           .invstd = invstd,
                                                           .moving_mean = mm,
                                                           .moving_variance = mv,
                                                           .epsilon = 4.0f,
                                                           .momentum = 0.9f}));
    check_close(host(xhat), {-1, -0.5f, -1.0f / 3, -0.5f, 1.0f / 3, -0.5f, 1, 1.5f});
    check_close(host(y), {-1.5f, 1.5f, -1.0f / 6, 1.5f, 7.0f / 6, 1.5f, 2.5f, -0.5f});
    check_close(host(mean), {4, 2});
    check_close(host(invstd), {1.0f / 3, 0.25f});
    check_close(host(mm), {0.4f, 0.2f});  // 0.9*0 + 0.1*mean
    check_close(host(mv), {1.4f, 2.1f});  // 0.9*1 + 0.1*var (biased)

    // Infer: (x - moving_mean)/sqrt(moving_var + eps); x = (7, 3), mm = (1, -1), mv = (5, 12).
    const Tensor xi = make({1, 2}, {7, 3});
    const Tensor m1 = make({2}, {1, -1}), v1 = make({2}, {5, 12});
    Tensor yi = dev->alloc({1, 2});
    BOOST_TEST(dev->try_fused(fused::BatchNormForwardInfer{.x = xi,
                                                           .gamma = &gamma,
                                                           .beta = &beta,
                                                           .moving_mean = m1,
                                                           .moving_variance = v1,
                                                           .y = yi,
                                                           .epsilon = 4.0f}));
    check_close(host(yi), {4.5f, 0});
    // No gamma (1) and no beta (0).
    BOOST_TEST(dev->try_fused(fused::BatchNormForwardInfer{
        .x = xi, .moving_mean = m1, .moving_variance = v1, .y = yi, .epsilon = 4.0f}));
    check_close(host(yi), {2, 1});
    const auto counted =
        dev->counters().fused_runs[static_cast<std::size_t>(fused::Key::batchnorm_forward_infer)];
    BOOST_TEST(counted == 2u);

    // A wrong size names the operand.
    const Tensor short_mean = make({1}, {0});
    BOOST_CHECK_EXCEPTION(
        dev->try_fused(fused::BatchNormForwardInfer{
            .x = xi, .moving_mean = short_mean, .moving_variance = v1, .y = yi, .epsilon = 4.0f}),
        DeviceError, [](const DeviceError& e) {
            return message_contains(e, "batchnorm.forward_infer: 'moving_mean' has shape [1]");
        });
    // A training batch of one row has no variance.
    Tensor y1 = dev->alloc({1, 2}), xhat1 = dev->alloc({1, 2});
    BOOST_CHECK_EXCEPTION(
        dev->try_fused(fused::BatchNormForwardTrain{.x = xi,
                                                    .y = y1,
                                                    .xhat = xhat1,
                                                    .mean = mean,
                                                    .invstd = invstd,
                                                    .moving_mean = mm,
                                                    .moving_variance = mv,
                                                    .epsilon = 4.0f,
                                                    .momentum = 0.9f}),
        DeviceError, [](const DeviceError& e) { return message_contains(e, "at least 2 rows"); });
}

BOOST_AUTO_TEST_CASE(fused_batchnorm_backward) {
    // dy = e0 in feature 0 and e3 in feature 1, N = 4. Feature 0: sum dy = 1, sum dy*xhat =
    // -1, dx = 2/3/4 * (4 dy - 1 + xhat) = (1/3, -2/9, -1/9, 0). Feature 1: sum dy = 1, sum
    // dy*xhat = 1.5, dx = -1/16 * (4 dy - 1 - 1.5 xhat) = (1/64, 1/64, 1/64, -3/64).
    const Tensor dy = make({4, 2}, {1, 0, 0, 0, 0, 0, 0, 1});
    const Tensor xhat = make({4, 2}, {-1, -0.5f, -1.0f / 3, -0.5f, 1.0f / 3, -0.5f, 1, 1.5f});
    const Tensor gamma = make({2}, {2, -1}), invstd = make({2}, {1.0f / 3, 0.25f});
    Tensor dx = dev->alloc({4, 2}), dgamma = dev->alloc({2}), dbeta = dev->alloc({2});
    const auto op = [&](const Tensor* d_x) {
        return fused::BatchNormBackward{.dy = dy,
                                        .xhat = xhat,
                                        .gamma = &gamma,
                                        .invstd = invstd,
                                        .dx = d_x,
                                        .dgamma = dgamma,
                                        .dbeta = dbeta};
    };
    BOOST_TEST(dev->try_fused(op(&dx)));
    const float s = 1.0f / 64;
    check_close(host(dx), {1.0f / 3, s, -2.0f / 9, s, -1.0f / 9, s, 0, -3 * s});
    check_close(host(dgamma), {-1, 1.5f});
    check_close(host(dbeta), {1, 1});
    dev->fill(dgamma, 0.0f);
    BOOST_TEST(dev->try_fused(op(nullptr)));
    check_close(host(dgamma), {-1, 1.5f});
}

BOOST_AUTO_TEST_CASE(fused_softmax_cross_entropy_backward_matches_the_primitives) {
    // Hand values: logits (0, ln 3) give softmax (1/4, 3/4); target (0, 1); scale 1/2:
    // dpred = ((1/4 - 0) / 2, (3/4 - 1) / 2) = (1/8, -1/8).
    auto d = load_cpu();
    const Tensor x = upload_to(*d, {1, 2}, {0.0f, std::log(3.0f)}),
                 t = upload_to(*d, {1, 2}, {0, 1});
    Tensor dx = d->alloc({1, 2});
    BOOST_TEST_REQUIRE(d->try_fused(
        fused::SoftmaxCrossEntropyBackward{.pred = x, .target = t, .dpred = dx, .scale = 0.5f}));
    check_close(run_on(*d, [&](Device&) { return dx; }), {0.125f, -0.125f}, 1e-6f);
    // Odd shapes: bit-identical to softmax, sub and scale, also when dpred aliases pred.
    const std::size_t rows = 13, cols = 7;
    const Floats logits = pattern(rows * cols, 6.0f, 0.2f),
                 target = pattern(rows * cols, 0.5f, 0.9f);
    const float scale = 1.0f / rows;
    const auto fused_path = [&](Device& device) {
        Tensor p = upload_to(device, {rows, cols}, logits),
               q = upload_to(device, {rows, cols}, target);
        BOOST_TEST(device.try_fused(fused::SoftmaxCrossEntropyBackward{
            .pred = p, .target = q, .dpred = p, .scale = scale}));
        return p;
    };
    const auto primitive = [&](Device& device) {
        Tensor p = upload_to(device, {rows, cols}, logits),
               q = upload_to(device, {rows, cols}, target);
        Tensor y = device.alloc({rows, cols});
        device.softmax(p, y);
        device.binary(BinaryOp::sub, y, q, y);
        device.unary(UnaryOp::scale, y, y, scale);
        return y;
    };
    const Floats a = run_on(*d, fused_path), b = run_on(*d, primitive);
    BOOST_TEST(a == b, boost::test_tools::per_element());
    const Tensor wide = d->alloc({1, 3});
    BOOST_CHECK_THROW(d->try_fused(fused::SoftmaxCrossEntropyBackward{
                          .pred = x, .target = wide, .dpred = dx, .scale = 1.0f}),
                      DeviceError);
}

// The fused Adam update over a tensor large enough to be split across the helper threads
// gives exactly what one thread computes, element by element.
BOOST_AUTO_TEST_CASE(parallel_adam_update_matches_one_thread) {
    const std::size_t n = 100003;  // above the split threshold, not a multiple of 16
    const Floats g = pattern(n, 0.01f, 0.3f), w0 = pattern(n, 0.5f, 2.1f);
    const auto steps = [&](Device& d) {
        Tensor grad = upload_to(d, {n}, g), w = upload_to(d, {n}, w0);
        Tensor m = d.alloc({n}), v = d.alloc({n});
        d.fill(m, 0.0f);
        d.fill(v, 0.0f);
        const fused::AdamUpdate update{.grad = grad,
                                       .value = w,
                                       .m = m,
                                       .v = v,
                                       .lr = 1e-3f,
                                       .beta1 = 0.9f,
                                       .beta2 = 0.999f,
                                       .epsilon = 1e-7f,
                                       .bias_correction1 = 0.19f,
                                       .bias_correction2 = 0.002f,
                                       .weight_decay = 0.0f,
                                       .grad_scale = 1.0f,
                                       .clipvalue = 0.0f};
        for (int step = 0; step < 3; ++step) BOOST_TEST(d.try_fused(update));
        return w;
    };
    // Each device sets OpenBLAS's (process-wide) thread count when created, so each runs
    // right after its own creation.
    const Floats parallel = run_on(*load_cpu("cpu threads=2"), steps);
    const Floats single = run_on(*load_cpu("cpu threads=1"), steps);
    BOOST_TEST_REQUIRE(parallel.size() == single.size());
    std::size_t differ = 0;
    for (std::size_t i = 0; i < n; ++i) differ += parallel[i] != single[i];
    BOOST_TEST(differ == 0u);
    // And it moved every weight against its gradient: a split that skipped a slice would not.
    std::size_t moved = 0;
    for (std::size_t i = 0; i < n; ++i) moved += (parallel[i] - w0[i]) * g[i] < 0.0f;
    BOOST_TEST(moved == n);
}
BOOST_AUTO_TEST_SUITE_END()
