#define BOOST_TEST_MODULE batchnorm
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"
#include "check_close.hpp"

using plexus::testing::load;
using plexus::testing::make_tensor;
using plexus::testing::to_host;
using Floats = std::vector<float>;

using plexus::test::check_close;

namespace {


const char* const kModes[] = {"", " fused=false"};  // the CPU's fused kernel, then primitives

std::vector<float> state_of(plexus::Device& device, plexus::Layer& layer, const char* name) {
    for (const auto& s : layer.state())
        if (s.name == name) return to_host(device, s.value);
    BOOST_FAIL("no state tensor " << name);
    return {};
}

// x: 4 samples of 2 features. Feature 0 = {1, 3, 5, 7}: mean 4, biased variance 5.
// Feature 1 = {2, 2, 2, 6}: mean 3, biased variance 3.
const Floats kX = {1, 2, 3, 2, 5, 2, 7, 6};

}  // namespace

BOOST_AUTO_TEST_CASE(train_mode_normalizes_each_feature_with_hand_computed_values) {
    auto device = load<plexus::Device>("cpu");
    for (const char* mode : kModes) {
        BOOST_TEST_CONTEXT("batchnorm" << mode) {
            auto layer = load<plexus::Layer>(std::string("batchnorm epsilon=1e-6") + mode);
            BOOST_TEST((layer->build({4, 2}, *device, {}) == plexus::Shape{4, 2}));
            const auto x = make_tensor(*device, {4, 2}, kX);
            const auto y = device->alloc({4, 2});
            layer->forward(x, y, plexus::Mode::train);
            // (x - mean) / sqrt(var): feature 0 by sqrt 5, feature 1 by sqrt 3.
            const float a = 1 / std::sqrt(5.0f), b = 1 / std::sqrt(3.0f);
            check_close(to_host(*device, y), {-3 * a, -b, -a, -b, a, -b, 3 * a, 3 * b}, 1e-5f);

            // Per-feature mean 0 and biased variance 1 on a random batch too.
            auto wide = load<plexus::Layer>(std::string("batchnorm") + mode);
            wide->build({64, 5}, *device, {});
            Floats v(64 * 5);
            for (std::size_t i = 0; i < v.size(); ++i)
                v[i] = 10.0f + 3.0f * std::sin(0.7f * i) * float(i % 5 + 1);
            const auto big = make_tensor(*device, {64, 5}, v);
            const auto out = device->alloc({64, 5});
            wide->forward(big, out, plexus::Mode::train);
            const Floats h = to_host(*device, out);
            for (std::size_t c = 0; c < 5; ++c) {
                double s = 0, q = 0;
                for (std::size_t r = 0; r < 64; ++r) s += h[r * 5 + c];
                const double m = s / 64;
                for (std::size_t r = 0; r < 64; ++r) q += (h[r * 5 + c] - m) * (h[r * 5 + c] - m);
                BOOST_TEST(std::abs(m) < 1e-5);
                BOOST_TEST(std::abs(q / 64 - 1.0) < 1e-3);  // eps=1e-3 against var ~ 4.5+
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(gamma_beta_and_gradients_by_hand) {
    auto device = load<plexus::Device>("cpu");
    for (const char* mode : kModes) {
        BOOST_TEST_CONTEXT("batchnorm" << mode) {
            auto layer = load<plexus::Layer>(std::string("batchnorm epsilon=1e-6") + mode);
            layer->build({4, 2}, *device, {});
            auto params = layer->parameters();
            BOOST_REQUIRE_EQUAL(params.size(), 2u);
            BOOST_TEST(params[0]->name == "gamma");
            BOOST_TEST(params[1]->name == "beta");
            BOOST_TEST(to_host(*device, params[0]->value) == Floats({1, 1}));
            BOOST_TEST(to_host(*device, params[1]->value) == Floats({0, 0}));
            device->upload(params[0]->value, Floats{2, -1});
            device->upload(params[1]->value, Floats{0.5f, 1});
            const auto x = make_tensor(*device, {4, 2}, kX);
            const auto y = device->alloc({4, 2});
            layer->forward(x, y, plexus::Mode::train);
            const float a = 1 / std::sqrt(5.0f), b = 1 / std::sqrt(3.0f);
            check_close(to_host(*device, y), {0.5f - 6 * a, 1 + b, 0.5f - 2 * a, 1 + b,
                                              0.5f + 2 * a, 1 + b, 0.5f + 6 * a, 1 - 3 * b});

            // dy = [[1,0],[0,0],[0,0],[0,1]]. Feature 0: xhat = {-3a,-a,a,3a}, sum dy = 1,
            // sum dy*xhat = -3a, so dx = 2a/4 * (4*dy - 1 + 3a*xhat) = a/2 * {4-1-9a^2,
            // -1-3a^2, -1+3a^2, -1+9a^2} with a^2 = 1/5. Feature 1: xhat = {-b,-b,-b,3b}, sum
            // = 1, sum dy*xhat = 3b, dx = -b/4 * (4*dy - 1 - 3b*xhat) = -b/4 * {3b^2-1,
            // 3b^2-1, 3b^2-1, 3-9b^2} = {0, 0, 0, 0} since b^2 = 1/3.
            const auto dy = make_tensor(*device, {4, 2}, {1, 0, 0, 0, 0, 0, 0, 1});
            const auto dx = device->alloc({4, 2});
            layer->backward(x, y, dy, &dx);
            check_close(to_host(*device, params[0]->grad), {-3 * a, 3 * b});
            check_close(to_host(*device, params[1]->grad), {1, 1});
            const float h = a / 2;
            check_close(to_host(*device, dx),
                        {h * (3 - 9.0f / 5), 0, h * (-1 - 3.0f / 5), 0, h * (-1 + 3.0f / 5), 0,
                         h * (-1 + 9.0f / 5), 0});
            // dx may alias dy.
            layer->backward(x, y, dy, &dy);
            check_close(to_host(*device, dy), to_host(*device, dx));
        }
    }
}

BOOST_AUTO_TEST_CASE(running_statistics_follow_the_keras_exponential_average) {
    auto device = load<plexus::Device>("cpu");
    for (const char* mode : kModes) {
        BOOST_TEST_CONTEXT("batchnorm" << mode) {
            auto layer = load<plexus::Layer>(std::string("batchnorm momentum=0.9") + mode);
            layer->build({4, 2}, *device, {});
            BOOST_TEST(state_of(*device, *layer, "moving_mean") == Floats({0, 0}));
            BOOST_TEST(state_of(*device, *layer, "moving_variance") == Floats({1, 1}));
            const auto y = device->alloc({4, 2});
            // Three steps: kX (means 4, 3; vars 5, 3), kX + 1 (5, 4; 5, 3), 2 kX (8, 6; 20, 12).
            const Floats steps[] = {kX,
                                    {2, 3, 4, 3, 6, 3, 8, 7},
                                    {2, 4, 6, 4, 10, 4, 14, 12}};
            for (const Floats& s : steps)
                layer->forward(make_tensor(*device, {4, 2}, s), y, plexus::Mode::train);
            // m0 = 0 -> 0.4 -> 0.86 -> 1.574; m1 = 0 -> 0.3 -> 0.67 -> 1.203.
            // v0 = 1 -> 1.4 -> 1.76 -> 3.584; v1 = 1 -> 1.2 -> 1.38 -> 2.442.
            check_close(state_of(*device, *layer, "moving_mean"), {1.574f, 1.203f});
            check_close(state_of(*device, *layer, "moving_variance"), {3.584f, 2.442f});

            // Infer uses them: (x - m) / sqrt(v + 1e-3), gamma 1, beta 0; a batch of 1 is fine.
            const auto x = make_tensor(*device, {1, 2}, {3.574f, 0.203f});
            const auto out = device->alloc({1, 2});
            layer->forward(x, out, plexus::Mode::infer);
            check_close(to_host(*device, out),
                        {2 / std::sqrt(3.585f), -1 / std::sqrt(2.443f)});
            // Infer leaves the running statistics alone.
            check_close(state_of(*device, *layer, "moving_mean"), {1.574f, 1.203f});
        }
    }
}

BOOST_AUTO_TEST_CASE(infer_mode_applies_gamma_and_beta_and_center_scale_switch_them_off) {
    auto device = load<plexus::Device>("cpu");
    for (const char* mode : kModes) {
        BOOST_TEST_CONTEXT("batchnorm" << mode) {
            auto layer = load<plexus::Layer>(std::string("batchnorm epsilon=0.5") + mode);
            layer->build({2, 2}, *device, {});
            auto params = layer->parameters();
            device->upload(params[0]->value, Floats{2, 3});
            device->upload(params[1]->value, Floats{1, -1});
            // Running mean 0, variance 1: y = gamma * x / sqrt(1.5) + beta.
            const auto x = make_tensor(*device, {2, 2}, {1.5f, 0, -3, 6});
            const auto y = device->alloc({2, 2});
            layer->forward(x, y, plexus::Mode::infer);
            const float k = 1 / std::sqrt(1.5f);
            check_close(to_host(*device, y), {1 + 3 * k, -1, 1 - 6 * k, -1 + 18 * k});

            auto bare = load<plexus::Layer>(std::string("batchnorm center=false scale=false "
                                                        "epsilon=1e-6") + mode);
            bare->build({4, 2}, *device, {});
            BOOST_TEST(bare->parameters().empty());
            const auto x4 = make_tensor(*device, {4, 2}, kX);
            const auto y4 = device->alloc({4, 2});
            bare->forward(x4, y4, plexus::Mode::train);
            const float a = 1 / std::sqrt(5.0f), b = 1 / std::sqrt(3.0f);
            check_close(to_host(*device, y4), {-3 * a, -b, -a, -b, a, -b, 3 * a, 3 * b});
            auto only_scale = load<plexus::Layer>(std::string("batchnorm center=false") + mode);
            only_scale->build({4, 2}, *device, {});
            BOOST_REQUIRE_EQUAL(only_scale->parameters().size(), 1u);
            BOOST_TEST(only_scale->parameters()[0]->name == "gamma");
        }
    }
}

BOOST_AUTO_TEST_CASE(fused_and_primitive_paths_agree) {
    auto device = load<plexus::Device>("cpu");
    auto fused = load<plexus::Layer>("batchnorm momentum=0.5");
    auto prim = load<plexus::Layer>("batchnorm momentum=0.5 fused=false");
    const plexus::Shape shape{16, 300};  // crosses the kernel's 256-column block
    fused->build(shape, *device, {});
    prim->build(shape, *device, {});
    Floats v(shape.numel()), g(shape.numel());
    for (std::size_t i = 0; i < v.size(); ++i) {
        v[i] = 100.0f + std::cos(1.3f * i) * float(i % 7 + 1);
        g[i] = std::sin(0.37f * i);
    }
    for (auto* l : {fused.get(), prim.get()}) {
        device->upload(l->parameters()[0]->value, Floats(300, 1.5f));
        device->upload(l->parameters()[1]->value, Floats(300, -0.25f));
    }
    const auto x = make_tensor(*device, shape, v);
    const auto dy = make_tensor(*device, shape, g);
    Floats out[2][5];
    int k = 0;
    for (auto* l : {fused.get(), prim.get()}) {
        const auto y = device->alloc(shape), dx = device->alloc(shape);
        l->forward(x, y, plexus::Mode::train);
        l->backward(x, y, dy, &dx);
        out[k][0] = to_host(*device, y);
        out[k][1] = to_host(*device, dx);
        out[k][2] = to_host(*device, l->parameters()[0]->grad);
        out[k][3] = to_host(*device, l->state()[1].value);
        l->forward(x.rows(0, 3), y.rows(0, 3), plexus::Mode::infer);
        out[k][4] = to_host(*device, y.rows(0, 3));
        ++k;
    }
    for (int i = 0; i < 5; ++i) {
        BOOST_TEST_CONTEXT("output " << i) { check_close(out[0][i], out[1][i], 1e-4f); }
    }
}

BOOST_AUTO_TEST_CASE(gradients_match_finite_differences_in_train_mode) {
    auto device = load<plexus::Device>("cpu");
    for (const char* spec : {"batchnorm", "batchnorm fused=false", "batchnorm center=false",
                             "batchnorm scale=false fused=false"}) {
        BOOST_TEST_CONTEXT(spec) {
            auto layer = load<plexus::Layer>(spec);
            const auto r = plexus::testing::check_layer(*layer, *device, {6, 4});
            BOOST_TEST_MESSAGE(spec << ": max rel error " << r.max_rel_error << " at " << r.worst);
            BOOST_TEST(r.max_rel_error < 1e-2, "worst " << r.worst);
            BOOST_TEST(r.checked >= 28u);  // input 24 + at least one parameter of 4
        }
    }
    auto image = load<plexus::Layer>("batchnorm");
    const auto r = plexus::testing::check_layer(*image, *device, {5, 2, 2, 2}, {.seed = 3});
    BOOST_TEST(r.max_rel_error < 1e-2, "worst " << r.worst);
}

BOOST_AUTO_TEST_CASE(a_training_batch_of_one_is_a_clear_error_and_nothing_allocates) {
    auto device = load<plexus::Device>("cpu");
    for (const char* mode : kModes) {
        auto layer = load<plexus::Layer>(std::string("batchnorm") + mode);
        layer->build({8, 3}, *device, {});
        const auto x1 = make_tensor(*device, {1, 3}, {1, 2, 3});
        const auto y1 = device->alloc({1, 3});
        BOOST_CHECK_EXCEPTION(layer->forward(x1, y1, plexus::Mode::train), plexus::ShapeError,
                              [](const plexus::ShapeError& e) {
                                  return std::string(e.what()).find("batch_size >= 2") !=
                                         std::string::npos;
                              });
        const auto x = device->alloc({5, 3}), y = device->alloc({5, 3});
        device->fill(x, 0.5f);
        const auto before = device->counters().allocations;
        layer->forward(x, y, plexus::Mode::train);  // a smaller batch than built
        layer->backward(x, y, y, &y);
        layer->backward(x, y, y, nullptr);
        layer->forward(x, y, plexus::Mode::infer);
        BOOST_TEST(device->counters().allocations == before);
        // Too many rows or the wrong width are shape errors.
        BOOST_CHECK_THROW(layer->forward(device->alloc({9, 3}), device->alloc({9, 3}),
                                         plexus::Mode::train),
                          plexus::ShapeError);
        BOOST_CHECK_THROW(layer->forward(device->alloc({2, 4}), device->alloc({2, 4}),
                                         plexus::Mode::train),
                          plexus::ShapeError);
    }
    BOOST_CHECK_THROW(load<plexus::Layer>("batchnorm momentum=1"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Layer>("batchnorm epsilon=0"), plexus::ParamError);
}

// A frozen batchnorm (Layer::set_trainable(false): [model] freeze) normalises with its running
// statistics in train mode too, leaves them unchanged, and back-propagates through that affine
// map (Keras >= 2.1.3). Statistics and gamma/beta are set by hand: mean {1, -2}, variance
// {4, 0.25}, gamma {2, 3}, beta {0.5, -1}, so y = x - 0.5 for feature 0 and 6(x + 2) - 1 for
// feature 1, and dx = dy * {1, 6}.
BOOST_AUTO_TEST_CASE(a_frozen_layer_uses_its_running_statistics_in_training) {
    auto device = load<plexus::Device>("cpu");
    for (const char* mode : kModes) {
        BOOST_TEST_CONTEXT("batchnorm" << mode) {
            auto layer = load<plexus::Layer>(std::string("batchnorm epsilon=1e-6") + mode);
            layer->build({4, 2}, *device, {});
            const auto state = layer->state();
            device->upload(state[0].value, Floats{1, -2});
            device->upload(state[1].value, Floats{4, 0.25f});
            const auto params = layer->parameters();
            device->upload(params[0]->value, Floats{2, 3});
            device->upload(params[1]->value, Floats{0.5f, -1});
            layer->set_trainable(false);
            BOOST_TEST((!params[0]->trainable && !params[1]->trainable));

            const auto x = make_tensor(*device, {4, 2}, kX);
            const auto y = device->alloc({4, 2}), y_infer = device->alloc({4, 2});
            layer->forward(x, y, plexus::Mode::train);
            layer->forward(x, y_infer, plexus::Mode::infer);
            const Floats want = {0.5f, 23, 2.5f, 23, 4.5f, 23, 6.5f, 47};
            check_close(to_host(*device, y), want, 1e-4f);
            check_close(to_host(*device, y), to_host(*device, y_infer), 0.0f);
            check_close(state_of(*device, *layer, "moving_mean"), {1, -2}, 0.0f);
            check_close(state_of(*device, *layer, "moving_variance"), {4, 0.25f}, 0.0f);

            layer->forward(x, y, plexus::Mode::train);
            const auto dy = make_tensor(*device, {4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
            const auto dx = device->alloc({4, 2});
            layer->backward(x, y, dy, &dx);
            check_close(to_host(*device, dx), {1, 12, 3, 24, 5, 36, 7, 48}, 1e-4f);

            // Unfrozen again: batch statistics ((x - 4)/sqrt 5 for feature 0, times gamma 2).
            layer->set_trainable(true);
            layer->forward(x, y, plexus::Mode::train);
            BOOST_TEST(to_host(*device, y)[0] == 2 * -3 / std::sqrt(5.0f) + 0.5f,
                       boost::test_tools::tolerance(1e-4f));
        }
    }
}

// The same on images [N, C, H, W], through the fused NCHW kernels and the transposed path:
// channel c scales by gamma/sqrt(var+eps) = {2/2, 3/0.5} = {1, 6}.
BOOST_AUTO_TEST_CASE(a_frozen_layer_on_images_matches_inference_and_its_gradient) {
    auto device = load<plexus::Device>("cpu");
    for (const char* mode : kModes) {
        BOOST_TEST_CONTEXT("batchnorm" << mode) {
            auto layer = load<plexus::Layer>(std::string("batchnorm epsilon=1e-6") + mode);
            layer->build({2, 2, 2, 2}, *device, {});
            const auto state = layer->state();
            device->upload(state[0].value, Floats{1, -2});
            device->upload(state[1].value, Floats{4, 0.25f});
            device->upload(layer->parameters()[0]->value, Floats{2, 3});
            layer->set_trainable(false);
            Floats v(16);
            for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.25f * float(i) - 1.0f;
            const auto x = make_tensor(*device, {2, 2, 2, 2}, v);
            const auto y = device->alloc({2, 2, 2, 2}), y_infer = device->alloc({2, 2, 2, 2});
            layer->forward(x, y_infer, plexus::Mode::infer);
            layer->forward(x, y, plexus::Mode::train);
            check_close(to_host(*device, y), to_host(*device, y_infer), 0.0f);
            Floats want(16);
            for (std::size_t i = 0; i < 16; ++i)
                want[i] = (i / 4) % 2 == 0 ? v[i] - 1.0f : 6.0f * (v[i] + 2.0f);
            check_close(to_host(*device, y), want, 1e-4f);
            const auto dy = make_tensor(*device, {2, 2, 2, 2}, Floats(16, 1.0f));
            const auto dx = device->alloc({2, 2, 2, 2});
            layer->backward(x, y, dy, &dx);
            Floats grad(16);
            for (std::size_t i = 0; i < 16; ++i) grad[i] = (i / 4) % 2 == 0 ? 1.0f : 6.0f;
            check_close(to_host(*device, dx), grad, 1e-4f);
        }
    }
}
