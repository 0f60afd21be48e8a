// batchnorm on images [N, C, H, W]: one feature per channel, normalised over (N, H, W).
#define BOOST_TEST_MODULE batchnorm2d
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "check_close.hpp"
#include "layer_devices.hpp"
#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"

using plexus::test::check_close;
using plexus::testing::load;
using plexus::testing::make_tensor;
using plexus::testing::to_host;
using Floats = std::vector<float>;

namespace {

#include "torch_batchnorm2d.inc"

const char* const kModes[] = {"", " fused=false"};  // the CPU's fused kernel, then primitives

// By value: state() returns a temporary vector, and a Tensor is a cheap handle.
plexus::Tensor state_of(plexus::Layer& layer, const char* name) {
    for (const auto& s : layer.state())
        if (s.name == name) return s.value;
    BOOST_FAIL("no state tensor " << name);
    return {};
}

// x [2, 2, 1, 2] in NCHW order. Channel 0 = {1, 3 | 5, 7} over (sample | width): mean 4,
// biased variance 5. Channel 1 = {2, 2 | 2, 6}: mean 3, variance 3. Normalising per pixel
// instead (the dense reading) would see two values per feature and give other numbers.
const Floats kX = {1, 3, 2, 2, 5, 7, 2, 6};

}  // namespace

BOOST_AUTO_TEST_CASE(train_mode_uses_per_channel_statistics_computed_by_hand) {
    auto device = load<plexus::Device>("cpu");
    for (const char* mode : kModes) {
        BOOST_TEST_CONTEXT("batchnorm" << mode) {
            auto layer =
                load<plexus::Layer>(std::string("batchnorm epsilon=1e-6 momentum=0.9") + mode);
            BOOST_TEST((layer->build({2, 2, 1, 2}, *device, {}) == plexus::Shape{2, 2, 1, 2}));
            const auto params = layer->parameters();
            BOOST_REQUIRE_EQUAL(params.size(), 2u);
            BOOST_TEST((params[0]->value.shape() == plexus::Shape{2}));  // gamma [C]
            BOOST_TEST((params[1]->value.shape() == plexus::Shape{2}));  // beta [C]
            const auto x = make_tensor(*device, {2, 2, 1, 2}, kX);
            const auto y = device->alloc({2, 2, 1, 2});
            layer->forward(x, y, plexus::Mode::train);
            const float a = 1 / std::sqrt(5.0f), b = 1 / std::sqrt(3.0f);
            check_close(to_host(*device, y), {-3 * a, -a, -b, -b, a, 3 * a, -b, 3 * b}, 1e-5f);
            // One batch with momentum 0.9: moving = 0.9 * (0, 1) + 0.1 * (mean, biased var).
            check_close(to_host(*device, state_of(*layer, "moving_mean")), {0.4f, 0.3f});
            check_close(to_host(*device, state_of(*layer, "moving_variance")), {1.4f, 1.2f});

            // One image is a batch of H*W values per channel: it trains (the dense path
            // refuses one row).
            const auto x1 = make_tensor(*device, {1, 2, 1, 2}, {1, 3, 2, 6});
            layer->forward(x1, y.rows(0, 1), plexus::Mode::train);
            check_close(to_host(*device, y.rows(0, 1)), {-1, 1, -1, 1}, 1e-5f);
        }
    }
}

// On cpu and opencl, each by its fused kernels on NCHW planes and by the transposed path.
BOOST_AUTO_TEST_CASE(matches_pytorch_batchnorm2d) {
    const plexus::Shape shape{3, 2, 3, 4};
    const float m = 3 * 3 * 4;  // values per channel
    for (const auto& [name, device] : plexus::test::layer_devices())
        for (const char* mode : kModes) {
            BOOST_TEST_CONTEXT(name << ": batchnorm" << mode) {
                auto layer =
                    load<plexus::Layer>(std::string("batchnorm epsilon=1e-3 momentum=0.9") + mode);
                layer->build(shape, *device, {});
                device->upload(layer->parameters()[0]->value, Floats{1.5f, -0.5f});
                device->upload(layer->parameters()[1]->value, Floats{0.25f, 1.0f});
                const auto x = make_tensor(*device, shape, kTorchX);
                const auto y = device->alloc(shape), dx = device->alloc(shape);
                layer->forward(x, y, plexus::Mode::train);
                layer->backward(x, y, make_tensor(*device, shape, kTorchDy), &dx);
                check_close(to_host(*device, y), kTorchY, 1e-4f);
                check_close(to_host(*device, dx), kTorchDx, 1e-4f);
                check_close(to_host(*device, layer->parameters()[0]->grad), kTorchDgamma, 1e-4f);
                check_close(to_host(*device, layer->parameters()[1]->grad), kTorchDbeta, 1e-4f);
                check_close(to_host(*device, state_of(*layer, "moving_mean")), kTorchRunningMean);
                // PyTorch feeds the unbiased variance (count N*H*W = 36) into running_var, Plexus
                // the biased one: ours = 0.9 + (torch - 0.9) * (m - 1) / m.
                Floats expected;
                for (float v : kTorchRunningVar)
                    expected.push_back(0.9f + (v - 0.9f) * (m - 1) / m);
                check_close(to_host(*device, state_of(*layer, "moving_variance")), expected);

                // Infer with PyTorch's running statistics gives PyTorch's eval output.
                device->upload(state_of(*layer, "moving_variance"), kTorchRunningVar);
                layer->forward(make_tensor(*device, shape, kTorchXInfer), y, plexus::Mode::infer);
                check_close(to_host(*device, y), kTorchYInfer, 1e-4f);
            }
        }
}

BOOST_AUTO_TEST_CASE(gradients_match_finite_differences_on_images) {
    auto device = load<plexus::Device>("cpu");
    for (const char* spec : {"batchnorm", "batchnorm fused=false", "batchnorm center=false",
                             "batchnorm scale=false fused=false"}) {
        BOOST_TEST_CONTEXT(spec) {
            auto layer = load<plexus::Layer>(spec);
            const auto r = plexus::testing::check_layer(*layer, *device, {4, 3, 5, 5});
            BOOST_TEST_MESSAGE(spec << ": max rel error " << r.max_rel_error << " at " << r.worst);
            BOOST_TEST(r.max_rel_error < 1e-2, "worst " << r.worst);
            BOOST_TEST(r.checked >= 64u + 3u);  // input (spread) + at least one parameter [C]
        }
    }
}

BOOST_AUTO_TEST_CASE(smaller_batches_alias_and_allocate_nothing_and_bad_shapes_are_errors) {
    auto device = load<plexus::Device>("cpu");
    for (const char* mode : kModes) {
        BOOST_TEST_CONTEXT("batchnorm" << mode) {
            auto layer = load<plexus::Layer>(std::string("batchnorm") + mode);
            layer->build({8, 3, 2, 3}, *device, {});
            const plexus::Shape five{5, 3, 2, 3};
            Floats v(five.numel()), g(five.numel());
            for (std::size_t i = 0; i < v.size(); ++i) {
                v[i] = std::sin(0.9f * float(i)) * float(i % 4 + 1);
                g[i] = std::cos(0.4f * float(i));
            }
            const auto x = make_tensor(*device, five, v), y = device->alloc(five);
            const auto dy = make_tensor(*device, five, g), dx = device->alloc(five);
            const auto before = device->counters().allocations;
            layer->forward(x, y, plexus::Mode::train);
            layer->backward(x, y, dy, &dx);
            layer->backward(x, y, dy, nullptr);
            layer->backward(x, y, dy, &dy);  // dx may alias dy
            layer->forward(x, y, plexus::Mode::infer);
            BOOST_TEST(device->counters().allocations == before);
            check_close(to_host(*device, dy), to_host(*device, dx));
            BOOST_CHECK_THROW(layer->forward(device->alloc({9, 3, 2, 3}),
                                             device->alloc({9, 3, 2, 3}), plexus::Mode::train),
                              plexus::ShapeError);
            BOOST_CHECK_EXCEPTION(
                layer->forward(device->alloc({2, 4, 2, 3}), device->alloc({2, 4, 2, 3}),
                               plexus::Mode::train),
                plexus::ShapeError, [](const plexus::ShapeError& e) {
                    return std::string(e.what()) ==
                           "batchnorm: built for up to 8 rows of 18 values (3 channels), got "
                           "[2, 4, 2, 3]";
                });
        }
    }
}

BOOST_AUTO_TEST_CASE(rank_3_and_a_1x1_plane_keep_one_feature_per_value) {
    auto device = load<plexus::Device>("cpu");
    // [N, H, W] might as well be a sequence [N, T, F]: it stays per feature (H*W of them).
    auto seq = load<plexus::Layer>("batchnorm");
    seq->build({4, 2, 3}, *device, {});
    BOOST_TEST((seq->parameters()[0]->value.shape() == plexus::Shape{6}));
    BOOST_TEST((state_of(*seq, "moving_mean").shape() == plexus::Shape{6}));
    // [N, C, 1, 1] is [N, C]: per channel and per feature are the same thing.
    auto dot = load<plexus::Layer>("batchnorm");
    dot->build({4, 5, 1, 1}, *device, {});
    BOOST_TEST((dot->parameters()[0]->value.shape() == plexus::Shape{5}));
}

namespace {

void planes_and_transposed_agree(const std::shared_ptr<plexus::Device>& device) {
    const plexus::Shape built{6, 5, 4, 7}, shape{5, 5, 4, 7};
    Floats v(shape.numel()), g(shape.numel());
    for (std::size_t i = 0; i < v.size(); ++i) {
        v[i] = 20.0f + std::sin(0.7f * float(i)) * float(i % 5 + 1);
        g[i] = std::cos(0.3f * float(i));
    }
    std::vector<Floats> results[2];
    for (int path = 0; path < 2; ++path) {
        auto layer = load<plexus::Layer>(path ? "batchnorm fused=false" : "batchnorm");
        layer->build(built, *device, {});
        device->upload(layer->parameters()[0]->value, Floats{1.5f, -0.5f, 2, 1, 0.25f});
        device->upload(layer->parameters()[1]->value, Floats{0.25f, 1, -1, 0, 3});
        const auto x = make_tensor(*device, shape, v), y = device->alloc(shape);
        const auto dy = make_tensor(*device, shape, g), dx = device->alloc(shape);
        layer->forward(x, y, plexus::Mode::train);
        results[path].push_back(to_host(*device, y));
        layer->backward(x, y, dy, &dx);
        results[path].push_back(to_host(*device, dx));
        results[path].push_back(to_host(*device, layer->parameters()[0]->grad));
        results[path].push_back(to_host(*device, layer->parameters()[1]->grad));
        results[path].push_back(to_host(*device, state_of(*layer, "moving_variance")));
        layer->forward(x, y, plexus::Mode::infer);
        results[path].push_back(to_host(*device, y));
    }
    const char* const names[] = {"y", "dx", "dgamma", "dbeta", "moving_variance", "infer y"};
    for (std::size_t i = 0; i < results[0].size(); ++i) {
        BOOST_TEST_CONTEXT(names[i]) { check_close(results[0][i], results[1][i], 1e-4f); }
    }
}

}  // namespace

// cpu and opencl list the fused keys, so "batchnorm" runs them on the NCHW planes while
// "fused=false" takes the transposed path (NCHW -> NHWC, primitive ops on [N*H*W, C], back):
// two independent routes to the same numbers, on a batch smaller than the built one.
BOOST_AUTO_TEST_CASE(fused_planes_and_transposed_path_agree) {
    for (const auto& [name, device] : plexus::test::layer_devices()) {
        BOOST_TEST_CONTEXT(name) { planes_and_transposed_agree(device); }
    }
}
