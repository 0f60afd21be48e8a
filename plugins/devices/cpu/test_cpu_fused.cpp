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
// ---- batchnorm on [N, C, S] planes (spatial = S > 1), e.g. NCHW images

namespace {

// NCHW [n, c, s] -> NHWC [n*s, c]: the layout in which each channel is a column, so the
// spatial = 1 kernel sees the same N*S values per feature.
Floats to_nhwc(const Floats& v, std::size_t n, std::size_t c, std::size_t s) {
    Floats t(v.size());
    for (std::size_t r = 0; r < n; ++r)
        for (std::size_t j = 0; j < c; ++j)
            for (std::size_t i = 0; i < s; ++i) t[(r * s + i) * c + j] = v[(r * c + j) * s + i];
    return t;
}

struct BatchNormRun {
    Floats y, xhat, mean, invstd, mm, mv, infer, dx, dgamma, dbeta;
};

// Train forward, backward and infer forward on x [rows, cols] with `spatial` values per
// feature; the inputs are given (and the outputs returned) in the layout the run uses.
BatchNormRun run_batchnorm(Device& d, std::size_t rows, std::size_t cols, std::size_t spatial,
                           const Floats& x, const Floats& dy, const Floats& gamma,
                           const Floats& beta) {
    const std::size_t f = gamma.size();
    const Tensor tx = upload_to(d, {rows, cols}, x), tdy = upload_to(d, {rows, cols}, dy);
    const Tensor g = upload_to(d, {f}, gamma), b = upload_to(d, {f}, beta);
    const Tensor y = d.alloc({rows, cols}), xhat = d.alloc({rows, cols}),
                 dx = d.alloc({rows, cols});
    const Tensor mean = d.alloc({f}), invstd = d.alloc({f}), dgamma = d.alloc({f}),
                 dbeta = d.alloc({f});
    const Tensor mm = upload_to(d, {f}, Floats(f, 0.5f)), mv = upload_to(d, {f}, Floats(f, 2.0f));
    BOOST_TEST(d.try_fused(fused::BatchNormForwardTrain{.x = tx,
                                                        .gamma = &g,
                                                        .beta = &b,
                                                        .y = y,
                                                        .xhat = xhat,
                                                        .mean = mean,
                                                        .invstd = invstd,
                                                        .moving_mean = mm,
                                                        .moving_variance = mv,
                                                        .epsilon = 1e-3f,
                                                        .momentum = 0.9f,
                                                        .spatial = spatial}));
    BOOST_TEST(d.try_fused(fused::BatchNormBackward{.dy = tdy,
                                                    .xhat = xhat,
                                                    .gamma = &g,
                                                    .invstd = invstd,
                                                    .dx = &dx,
                                                    .dgamma = dgamma,
                                                    .dbeta = dbeta,
                                                    .spatial = spatial}));
    BatchNormRun out;
    const auto get = [&](const Tensor& t) { return run_on(d, [&](Device&) { return t; }); };
    out.y = get(y), out.xhat = get(xhat), out.mean = get(mean), out.invstd = get(invstd);
    out.mm = get(mm), out.mv = get(mv), out.dx = get(dx), out.dgamma = get(dgamma);
    out.dbeta = get(dbeta);
    // dx may alias dy.
    BOOST_TEST(d.try_fused(fused::BatchNormBackward{.dy = tdy,
                                                    .xhat = xhat,
                                                    .gamma = &g,
                                                    .invstd = invstd,
                                                    .dx = &tdy,
                                                    .dgamma = dgamma,
                                                    .dbeta = dbeta,
                                                    .spatial = spatial}));
    BOOST_TEST(get(tdy) == out.dx, boost::test_tools::per_element());
    BOOST_TEST(d.try_fused(fused::BatchNormForwardInfer{.x = tx,
                                                        .gamma = &g,
                                                        .beta = &b,
                                                        .moving_mean = mm,
                                                        .moving_variance = mv,
                                                        .y = y,
                                                        .epsilon = 1e-3f,
                                                        .spatial = spatial}));
    out.infer = get(y);
    return out;
}

// The planes kernels on NCHW against the spatial = 1 kernel on the same data transposed to
// NHWC here: the same per-channel statistics and, transposed back, the same outputs.
void check_planes_against_columns(Device& d, std::size_t n, std::size_t c, std::size_t s) {
    const std::size_t cols = c * s;
    Floats x = pattern(n * cols, 3.0f, 0.1f);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += 40.0f + float(i / s % c);  // far from 0
    const Floats dy = pattern(n * cols, 1.0f, 0.7f);
    const Floats gamma = pattern(c, 1.0f, 0.3f), beta = pattern(c, 0.5f, 1.1f);
    const BatchNormRun planes = run_batchnorm(d, n, cols, s, x, dy, gamma, beta);
    const BatchNormRun columns =
        run_batchnorm(d, n * s, c, 1, to_nhwc(x, n, c, s), to_nhwc(dy, n, c, s), gamma, beta);
    check_close(to_nhwc(planes.y, n, c, s), columns.y);
    check_close(to_nhwc(planes.xhat, n, c, s), columns.xhat);
    check_close(planes.mean, columns.mean);
    check_close(planes.invstd, columns.invstd);
    check_close(planes.mm, columns.mm);
    check_close(planes.mv, columns.mv);
    check_close(to_nhwc(planes.dx, n, c, s), columns.dx);
    check_close(planes.dgamma, columns.dgamma, 1e-4f);  // sums of n*s products
    check_close(planes.dbeta, columns.dbeta, 1e-4f);
    check_close(to_nhwc(planes.infer, n, c, s), columns.infer);
}

}  // namespace

BOOST_AUTO_TEST_CASE(fused_batchnorm_on_planes_matches_the_columns_path_on_nhwc) {
    check_planes_against_columns(*dev, 4, 3, 25);  // [4, 3, 5, 5]
    check_planes_against_columns(*dev, 2, 6, 63);  // [2, 6, 7, 9]: planes not a lane multiple
    check_planes_against_columns(*dev, 1, 2, 49);  // one image trains on its planes
    check_planes_against_columns(*dev, 3, 5, 1 + 8);
}

// Split over the helper threads by channel, every value is what one thread computes.
BOOST_AUTO_TEST_CASE(parallel_batchnorm_on_planes_matches_one_thread) {
    const std::size_t n = 16, c = 12, s = 200;  // 38400 values: above the split threshold
    const Floats x = pattern(n * c * s, 2.0f, 0.2f), dy = pattern(n * c * s, 1.0f, 0.9f);
    const Floats gamma = pattern(c, 1.0f, 0.3f), beta = pattern(c, 0.5f, 1.1f);
    const auto run = [&](const char* spec) {
        return run_batchnorm(*load_cpu(spec), n, c * s, s, x, dy, gamma, beta);
    };
    const BatchNormRun parallel = run("cpu threads=2"), single = run("cpu threads=1");
    BOOST_TEST(parallel.y == single.y, boost::test_tools::per_element());
    BOOST_TEST(parallel.mv == single.mv, boost::test_tools::per_element());
    BOOST_TEST(parallel.dx == single.dx, boost::test_tools::per_element());
    BOOST_TEST(parallel.dgamma == single.dgamma, boost::test_tools::per_element());
    BOOST_TEST(parallel.infer == single.infer, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(fused_batchnorm_spatial_must_divide_the_columns) {
    const Tensor x = dev->alloc({2, 10}), y = dev->alloc({2, 10}), m = dev->alloc({3});
    for (const std::size_t spatial : {std::size_t{3}, std::size_t{0}})
        BOOST_CHECK_EXCEPTION(dev->try_fused(fused::BatchNormForwardInfer{.x = x,
                                                                          .moving_mean = m,
                                                                          .moving_variance = m,
                                                                          .y = y,
                                                                          .epsilon = 1e-3f,
                                                                          .spatial = spatial}),
                              DeviceError, [](const DeviceError& e) {
                                  return message_contains(
                                      e,
                                      "batchnorm.forward_infer: 'x' has shape [2, 10] (10 "
                                      "values per sample), not a whole number of features");
                              });
}
BOOST_AUTO_TEST_SUITE_END()
