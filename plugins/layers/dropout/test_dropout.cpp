#define BOOST_TEST_MODULE dropout
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"

using plexus::testing::load;
using plexus::testing::make_tensor;
using plexus::testing::to_host;
using Floats = std::vector<float>;

namespace {

Floats ramp(std::size_t n) {
    Floats v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = 0.5f + static_cast<float>(i % 7);
    return v;
}

// Rebuilds the wrapped layer before every forward, so each forward restarts its counter and
// draws the same mask from the same seed: train-mode dropout becomes a fixed linear map that
// central differences can check (check_layer calls forward many times). Test-only: building
// allocates.
struct FixedMask final : plexus::Layer {
    std::shared_ptr<plexus::Layer> inner;
    plexus::Shape shape;
    plexus::BuildContext context;

    explicit FixedMask(std::shared_ptr<plexus::Layer> layer) : inner(std::move(layer)) {}
    plexus::Shape build(const plexus::Shape& input, plexus::Device& device,
                        const plexus::BuildContext& ctx) override {
        shape = input;
        context = ctx;
        return inner->build(input, device, ctx);
    }
    void forward(const plexus::Tensor& x, const plexus::Tensor& y, plexus::Mode mode) override {
        inner->build(shape, *x.device(), context);
        inner->forward(x, y, mode);
    }
    void backward(const plexus::Tensor& x, const plexus::Tensor& y, const plexus::Tensor& dy,
                  const plexus::Tensor* dx) override {
        inner->backward(x, y, dy, dx);
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(infer_mode_and_rate_zero_are_the_identity) {
    auto device = load<plexus::Device>("cpu");
    const Floats v = {-2, -0.5f, 0, 0.5f, 3, 7};
    for (const char* spec : {"dropout", "dropout rate=0.9"}) {
        auto layer = load<plexus::Layer>(spec);
        BOOST_TEST((layer->build({2, 3}, *device, {5, 0}) == plexus::Shape{2, 3}));
        BOOST_TEST(layer->parameters().empty());
        const auto x = make_tensor(*device, {2, 3}, v);
        const auto y = device->alloc({2, 3});
        layer->forward(x, y, plexus::Mode::infer);
        BOOST_TEST(to_host(*device, y) == v, boost::test_tools::per_element());
        const auto dy = make_tensor(*device, {2, 3}, {1, 2, 3, 4, 5, 6});
        const auto dx = device->alloc({2, 3});
        layer->backward(x, y, dy, &dx);
        BOOST_TEST(to_host(*device, dx) == Floats({1, 2, 3, 4, 5, 6}),
                   boost::test_tools::per_element());
    }
    auto zero = load<plexus::Layer>("dropout rate=0");
    zero->build({2, 3}, *device, {5, 0});
    const auto x = make_tensor(*device, {2, 3}, v);
    const auto y = device->alloc({2, 3});
    zero->forward(x, y, plexus::Mode::train);
    BOOST_TEST(to_host(*device, y) == v, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(train_mode_drops_at_the_rate_scales_the_rest_and_keeps_the_mean) {
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("dropout rate=0.25");
    const std::size_t rows = 200, cols = 100, n = rows * cols;
    layer->build({rows, cols}, *device, {11, 0});
    const Floats v = ramp(n);
    const auto x = make_tensor(*device, {rows, cols}, v);
    const auto y = device->alloc({rows, cols});
    double in_sum = 0, out_sum = 0;
    std::size_t dropped = 0;
    for (float f : v) in_sum += f;
    for (int step = 0; step < 5; ++step) {
        layer->forward(x, y, plexus::Mode::train);
        const Floats h = to_host(*device, y);
        for (std::size_t i = 0; i < n; ++i) {
            out_sum += h[i];
            if (h[i] == 0.0f) {
                ++dropped;
            } else {  // kept: x / (1 - 0.25) exactly as computed in float
                BOOST_TEST(h[i] == v[i] * (1.0f / 0.75f), "element " << i);
                if (h[i] != v[i] * (1.0f / 0.75f)) return;
            }
        }
    }
    // 100 000 Bernoulli(0.25) draws: standard error 0.0014.
    BOOST_TEST(std::abs(dropped / (5.0 * n) - 0.25) < 0.007);
    // The mean over many samples equals the input's (inverted dropout keeps the expectation):
    // within 1 %, against a relative standard error of about 0.3 % here.
    BOOST_TEST(std::abs(out_sum / (5.0 * in_sum) - 1.0) < 0.01);
}

BOOST_AUTO_TEST_CASE(mask_changes_between_steps_and_backward_uses_it) {
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("dropout rate=0.5");
    layer->build({4, 50}, *device, {3, 0});
    const auto x = make_tensor(*device, {4, 50}, Floats(200, 1.0f));
    const auto y = device->alloc({4, 50});
    layer->forward(x, y, plexus::Mode::train);
    const Floats first = to_host(*device, y);
    // dx = dy * mask: with dy = 3 everywhere, dx is 6 where kept (1/(1-0.5) = 2) and 0 elsewhere,
    // i.e. 3 * y for x = 1.
    const auto dy = make_tensor(*device, {4, 50}, Floats(200, 3.0f));
    const auto dx = device->alloc({4, 50});
    layer->backward(x, y, dy, &dx);
    const Floats g = to_host(*device, dx);
    for (std::size_t i = 0; i < 200; ++i) {
        BOOST_TEST((first[i] == 0.0f || first[i] == 2.0f));
        BOOST_TEST(g[i] == 3.0f * first[i]);
    }
    layer->forward(x, y, plexus::Mode::train);
    const Floats second = to_host(*device, y);
    std::size_t differ = 0;
    for (std::size_t i = 0; i < 200; ++i) differ += first[i] != second[i];
    BOOST_TEST(differ > 50u);  // independent masks differ in ~100 of 200 places

    // A smaller batch reuses the workspace and allocates nothing.
    const auto before = device->counters().allocations;
    const auto dy2 = dy.rows(0, 2);
    layer->forward(x.rows(0, 2), y.rows(0, 2), plexus::Mode::train);
    layer->backward(x.rows(0, 2), y.rows(0, 2), dy2, &dy2);
    BOOST_TEST(device->counters().allocations == before);
    BOOST_CHECK_THROW(layer->forward(device->alloc({5, 50}), device->alloc({5, 50}),
                                     plexus::Mode::train),
                      plexus::ShapeError);
}

BOOST_AUTO_TEST_CASE(same_seed_gives_the_same_masks) {
    auto device = load<plexus::Device>("cpu");
    auto a = load<plexus::Layer>("dropout rate=0.3");
    auto b = load<plexus::Layer>("dropout rate=0.3");
    auto c = load<plexus::Layer>("dropout rate=0.3");
    a->build({8, 16}, *device, {42, 0});
    b->build({8, 16}, *device, {42, 1});  // the seed decides, not the index
    c->build({8, 16}, *device, {43, 0});
    const auto x = make_tensor(*device, {8, 16}, ramp(128));
    const auto ya = device->alloc({8, 16}), yb = device->alloc({8, 16}), yc = device->alloc({8, 16});
    for (int step = 0; step < 2; ++step) {
        a->forward(x, ya, plexus::Mode::train);
        b->forward(x, yb, plexus::Mode::train);
        c->forward(x, yc, plexus::Mode::train);
        BOOST_TEST(to_host(*device, ya) == to_host(*device, yb));
        BOOST_TEST(to_host(*device, ya) != to_host(*device, yc));
    }
}

BOOST_AUTO_TEST_CASE(gradients_match_finite_differences) {
    auto device = load<plexus::Device>("cpu");
    // A fresh mask per forward makes train-mode central differences meaningless; FixedMask
    // pins it (same seed, same counter), so backward's mask must be forward's.
    for (const char* spec : {"dropout rate=0.4", "dropout rate=0.5 spatial=true"}) {
        BOOST_TEST_CONTEXT(spec) {
            FixedMask fixed(load<plexus::Layer>(spec));
            const auto r = plexus::testing::check_layer(fixed, *device, {4, 3, 5, 5}, {.seed = 5});
            BOOST_TEST(r.max_rel_error < 1e-2, "worst " << r.worst);
            BOOST_TEST(r.checked == 64u);
        }
    }
    auto layer = load<plexus::Layer>("dropout rate=0.4");
    auto r = plexus::testing::check_layer(*layer, *device, {3, 5}, {.mode = plexus::Mode::infer});
    BOOST_TEST(r.max_rel_error < 1e-2, "worst " << r.worst);
    BOOST_TEST(r.checked == 15u);
    auto zero = load<plexus::Layer>("dropout rate=0");
    r = plexus::testing::check_layer(*zero, *device, {3, 5});
    BOOST_TEST(r.max_rel_error < 1e-2, "worst " << r.worst);
}

BOOST_AUTO_TEST_CASE(rate_must_be_below_one) {
    BOOST_CHECK_THROW(load<plexus::Layer>("dropout rate=1"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Layer>("dropout rate=-0.1"), plexus::ParamError);
}

// ---- spatial = true: whole channels (Tompson et al., 2015)

BOOST_AUTO_TEST_CASE(spatial_drops_whole_channels_at_the_rate) {
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("dropout rate=0.25 spatial=true");
    const plexus::Shape shape{100, 16, 3, 5};
    const std::size_t channels = 100 * 16, plane = 15;
    BOOST_TEST((layer->build(shape, *device, {9, 0}) == shape));
    const Floats v = ramp(shape.numel());
    const auto x = make_tensor(*device, shape, v);
    const auto y = device->alloc(shape), dx = device->alloc(shape);
    const auto dy = make_tensor(*device, shape, Floats(shape.numel(), 2.0f));
    std::size_t dropped = 0;
    for (int step = 0; step < 3; ++step) {
        layer->forward(x, y, plexus::Mode::train);
        layer->backward(x, y, dy, &dx);
        const Floats h = to_host(*device, y), g = to_host(*device, dx);
        for (std::size_t c = 0; c < channels; ++c) {
            const bool zero = h[c * plane] == 0.0f;
            dropped += zero;
            for (std::size_t i = c * plane; i < (c + 1) * plane; ++i) {
                const float want = zero ? 0.0f : v[i] * (1.0f / 0.75f);
                const float grad = zero ? 0.0f : 2.0f * (1.0f / 0.75f);
                if (h[i] != want || g[i] != grad) {
                    BOOST_TEST(h[i] == want, "channel " << c << " element " << i);
                    BOOST_TEST(g[i] == grad, "channel " << c << " element " << i);
                    return;
                }
            }
        }
    }
    // 4 800 Bernoulli(0.25) channel draws: standard error 0.0063.
    BOOST_TEST(std::abs(dropped / (3.0 * channels) - 0.25) < 0.025);
}

BOOST_AUTO_TEST_CASE(spatial_is_the_identity_in_infer_mode_and_reproducible_from_its_seed) {
    auto device = load<plexus::Device>("cpu");
    const plexus::Shape shape{6, 4, 2, 3};
    const Floats v = ramp(shape.numel());
    auto a = load<plexus::Layer>("dropout rate=0.5 spatial=true");
    auto b = load<plexus::Layer>("dropout rate=0.5 spatial=true");
    a->build(shape, *device, {7, 0});
    b->build(shape, *device, {7, 3});
    const auto x = make_tensor(*device, shape, v);
    const auto ya = device->alloc(shape), yb = device->alloc(shape);
    a->forward(x, ya, plexus::Mode::infer);
    BOOST_TEST(to_host(*device, ya) == v, boost::test_tools::per_element());
    a->backward(x, ya, ya, &yb);  // identity after infer
    BOOST_TEST(to_host(*device, yb) == v, boost::test_tools::per_element());
    for (int step = 0; step < 2; ++step) {
        a->forward(x, ya, plexus::Mode::train);
        b->forward(x, yb, plexus::Mode::train);
        BOOST_TEST(to_host(*device, ya) == to_host(*device, yb));
    }

    // A smaller batch reuses the workspaces: nothing is allocated.
    const auto before = device->counters().allocations;
    const auto x2 = x.rows(0, 2), y2 = ya.rows(0, 2), dx2 = yb.rows(0, 2);
    a->forward(x2, y2, plexus::Mode::train);
    a->backward(x2, y2, y2, &dx2);
    BOOST_TEST(device->counters().allocations == before);
}

BOOST_AUTO_TEST_CASE(spatial_needs_channels) {
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("dropout spatial=true");
    BOOST_CHECK_EXCEPTION(layer->build({32, 16}, *device, {}), plexus::ShapeError,
                          [](const plexus::ShapeError& e) {
                              return std::string(e.what()) ==
                                     "dropout: spatial=true drops whole channels of images "
                                     "[batch, C, H, W] (rank >= 3), got [32, 16]; use "
                                     "spatial=false for features";
                          });
    // Rank 3 [N, C, L] drops whole rows of L values.
    BOOST_TEST((layer->build({2, 3, 4}, *device, {}) == plexus::Shape{2, 3, 4}));
}
