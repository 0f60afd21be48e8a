#define BOOST_TEST_MODULE dense
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"
#include "check_close.hpp"

using plexus::testing::load;
using plexus::testing::make_tensor;
using plexus::testing::to_host;

using plexus::test::check_close;

namespace {


// x [2, 3], W [3, 2], b [2] chosen so every product is exact in float.
const std::vector<float> kX = {1, 2, 3, -1, 0, 2};
const std::vector<float> kW = {1, -1, 0, 2, 0.5f, 1};
const std::vector<float> kB = {0.5f, -1};

}  // namespace

BOOST_AUTO_TEST_CASE(forward_and_backward_match_hand_computed_values) {
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("dense units=2");
    BOOST_TEST((layer->build({2, 3}, *device, {}) == plexus::Shape{2, 2}));
    auto params = layer->parameters();
    BOOST_REQUIRE_EQUAL(params.size(), 2u);
    BOOST_TEST(params[0]->name == "kernel");
    BOOST_TEST(params[1]->name == "bias");
    BOOST_TEST((params[0]->value.shape() == plexus::Shape{3, 2}));
    BOOST_TEST((params[1]->value.shape() == plexus::Shape{2}));
    device->upload(params[0]->value, kW);
    device->upload(params[1]->value, kB);

    const auto x = make_tensor(*device, {2, 3}, kX);
    const auto y = device->alloc({2, 2});
    layer->forward(x, y, plexus::Mode::infer);
    // Row 0: [1 + 0 + 1.5, -1 + 4 + 3] + b = [3, 5]; row 1: [-1 + 0 + 1, 1 + 0 + 2] + b.
    check_close(to_host(*device, y), {3, 5, 0.5f, 2});

    // dy = 1: dW[i][j] = sum_n x[n][i]; db = [rows, rows]; dx[n][i] = sum_j W[i][j].
    const auto dy = make_tensor(*device, {2, 2}, {1, 1, 1, 1});
    const auto dx = device->alloc({2, 3});
    layer->backward(x, y, dy, &dx);
    check_close(to_host(*device, params[0]->grad), {0, 0, 2, 2, 5, 5});
    check_close(to_host(*device, params[1]->grad), {2, 2});
    check_close(to_host(*device, dx), {0, 2, 1.5f, 0, 2, 1.5f});
}

BOOST_AUTO_TEST_CASE(without_bias_has_only_a_kernel) {
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("dense units=2 use_bias=false");
    layer->build({2, 3}, *device, {});
    auto params = layer->parameters();
    BOOST_REQUIRE_EQUAL(params.size(), 1u);
    device->upload(params[0]->value, kW);
    const auto x = make_tensor(*device, {2, 3}, kX);
    const auto y = device->alloc({2, 2});
    layer->forward(x, y, plexus::Mode::infer);
    check_close(to_host(*device, y), {2.5f, 6, 0, 3});
}

BOOST_AUTO_TEST_CASE(higher_rank_input_is_flattened_and_smaller_batches_work) {
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("dense units=2");
    BOOST_TEST((layer->build({4, 1, 1, 3}, *device, {}) == plexus::Shape{4, 2}));
    auto params = layer->parameters();
    device->upload(params[0]->value, kW);
    device->upload(params[1]->value, kB);
    // Two rows of a batch built for four, in the [N, C, H, W] layout.
    const auto x = make_tensor(*device, {2, 1, 1, 3}, kX);
    const auto y = device->alloc({2, 2});
    const auto before = device->counters().allocations;
    layer->forward(x, y, plexus::Mode::train);
    const auto dx = device->alloc({2, 1, 1, 3});
    const auto dy = make_tensor(*device, {2, 2}, {1, 1, 1, 1});
    const auto after_inputs = device->counters().allocations;
    layer->backward(x, y, dy, &dx);
    layer->backward(x, y, dy, nullptr);
    BOOST_TEST(before + 2 == after_inputs);
    BOOST_TEST(device->counters().allocations == after_inputs);  // layer allocated nothing
    check_close(to_host(*device, y), {3, 5, 0.5f, 2});
    check_close(to_host(*device, dx), {0, 2, 1.5f, 0, 2, 1.5f});
}

BOOST_AUTO_TEST_CASE(initialisation_has_the_documented_distribution) {
    auto device = load<plexus::Device>("cpu");
    const std::size_t in = 400, out = 100;

    auto glorot = load<plexus::Layer>("dense units=100");  // glorot_uniform is the default
    glorot->build({1, in}, *device, {7, 0});
    const auto w = to_host(*device, glorot->parameters()[0]->value);
    const float limit = std::sqrt(6.0f / (in + out));  // 0.1095
    const auto [lo, hi] = std::minmax_element(w.begin(), w.end());
    BOOST_TEST(*lo >= -limit);
    BOOST_TEST(*hi <= limit);
    BOOST_TEST(*hi > 0.95f * limit);  // 40 000 draws reach the edges
    BOOST_TEST(*lo < -0.95f * limit);
    for (float b : to_host(*device, glorot->parameters()[1]->value)) BOOST_TEST(b == 0.0f);

    auto he = load<plexus::Layer>("dense units=100 init=he_normal");
    he->build({1, in}, *device, {7, 0});
    const auto v = to_host(*device, he->parameters()[0]->value);
    double sum = 0, sq = 0;
    for (float x : v) {
        sum += x;
        sq += double(x) * x;
    }
    const double mean = sum / v.size();
    const double stddev = std::sqrt(sq / v.size() - mean * mean);
    BOOST_TEST(std::abs(mean) < 0.005);
    BOOST_TEST(stddev == std::sqrt(2.0 / in), boost::test_tools::tolerance(0.05));  // 0.0707

    // Same seed, same weights; another seed, other weights.
    auto again = load<plexus::Layer>("dense units=100 init=he_normal");
    again->build({1, in}, *device, {7, 0});
    BOOST_TEST(to_host(*device, again->parameters()[0]->value) == v);
    auto other = load<plexus::Layer>("dense units=100 init=he_normal");
    other->build({1, in}, *device, {8, 0});
    BOOST_TEST(to_host(*device, other->parameters()[0]->value) != v);
}

BOOST_AUTO_TEST_CASE(gradients_match_finite_differences) {
    auto device = load<plexus::Device>("cpu");
    for (const char* spec : {"dense units=3", "dense units=3 init=he_normal",
                             "dense units=3 use_bias=false",
                             "dense units=3 init=he_normal use_bias=false",
                             "dense units=3 init=lecun_normal l1=0.1 l2=0.1",
                             "dense units=3 init=uniform limit=0.3"}) {
        BOOST_TEST_CONTEXT(spec) {
            auto layer = load<plexus::Layer>(spec);
            const auto r = plexus::testing::check_layer(*layer, *device, {4, 5});
            BOOST_TEST_MESSAGE(spec << ": max rel error " << r.max_rel_error << " at "
                                    << r.worst);
            BOOST_TEST(r.max_rel_error < 1e-2);
            // input 20 + kernel 15 (+ bias 3)
            const bool bias = std::string(spec).find("use_bias=false") == std::string::npos;
            BOOST_TEST(r.checked == (bias ? 38u : 35u));
        }
    }
    auto image = load<plexus::Layer>("dense units=4 init=he_normal");
    const auto r = plexus::testing::check_layer(*image, *device, {3, 2, 2, 2});
    BOOST_TEST(r.max_rel_error < 1e-2, "worst " << r.worst);
}

BOOST_AUTO_TEST_CASE(bad_parameters_and_shapes_are_rejected) {
    auto device = load<plexus::Device>("cpu");
    BOOST_CHECK_THROW(load<plexus::Layer>("dense"), plexus::ParamError);  // units is required
    BOOST_CHECK_THROW(load<plexus::Layer>("dense units=0"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Layer>("dense units=3 init=orthogonal"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Layer>("dense units=3 l2=-1"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Layer>("dense units=3 stddev=-0.1"), plexus::ParamError);
    auto layer = load<plexus::Layer>("dense units=3");
    BOOST_CHECK_THROW(layer->build({5}, *device, {}), plexus::ShapeError);
    layer->build({2, 4}, *device, {});
    const auto x = device->alloc({2, 5});
    const auto y = device->alloc({2, 3});
    BOOST_CHECK_THROW(layer->forward(x, y, plexus::Mode::infer), plexus::ShapeError);
}

namespace {

struct Moments {
    double mean, stddev, min, max;
};

Moments moments_of(const std::vector<float>& v) {
    double sum = 0, sq = 0;
    for (float x : v) {
        sum += x;
        sq += double(x) * x;
    }
    const double mean = sum / v.size();
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    return {mean, std::sqrt(sq / v.size() - mean * mean), *lo, *hi};
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_init_has_its_documented_scale) {
    auto device = load<plexus::Device>("cpu");
    // fan_in 400, fan_out 100 (40 000 draws): the scales below are worked out by hand.
    struct Case {
        const char* spec;
        bool uniform;
        double scale;  // stddev of a normal, limit of a uniform
    };
    const Case cases[] = {
        {"init=he_normal", false, 0.070710678},          // sqrt(2/400)
        {"init=he_uniform", true, 0.12247449},           // sqrt(6/400)
        {"init=glorot_normal", false, 0.063245553},      // sqrt(2/500)
        {"init=glorot_uniform", true, 0.10954451},       // sqrt(6/500)
        {"init=lecun_normal", false, 0.05},              // sqrt(1/400)
        {"init=normal", false, 0.05},                    // stddev default
        {"init=normal stddev=0.2", false, 0.2},
        {"init=uniform", true, 0.05},                    // limit default
        {"init=uniform limit=0.5", true, 0.5},
    };
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT(c.spec) {
            auto layer = load<plexus::Layer>(std::string("dense units=100 ") + c.spec);
            layer->build({1, 400}, *device, {3, 0});
            const Moments m = moments_of(to_host(*device, layer->parameters()[0]->value));
            BOOST_TEST(std::abs(m.mean) < 0.02 * c.scale + 1e-4);
            if (c.uniform) {
                BOOST_TEST(m.min >= -c.scale);
                BOOST_TEST(m.max < c.scale);
                BOOST_TEST(m.max > 0.99 * c.scale);
                BOOST_TEST(m.min < -0.99 * c.scale);
                // U(-l, l) has standard deviation l/sqrt(3).
                BOOST_TEST(m.stddev == c.scale / std::sqrt(3.0), boost::test_tools::tolerance(0.02));
            } else {
                BOOST_TEST(m.stddev == c.scale, boost::test_tools::tolerance(0.02));
                BOOST_TEST(m.max > 3.5 * c.scale);  // untruncated: 40 000 draws pass 3.5 sd
            }
        }
    }
    auto zeros = load<plexus::Layer>("dense units=3 init=zeros");
    zeros->build({2, 4}, *device, {3, 0});
    for (float w : to_host(*device, zeros->parameters()[0]->value)) BOOST_TEST(w == 0.0f);
}

BOOST_AUTO_TEST_CASE(l1_l2_land_on_the_kernel_only) {
    auto device = load<plexus::Device>("cpu");
    auto plain = load<plexus::Layer>("dense units=2");
    plain->build({1, 3}, *device, {});
    for (auto* p : plain->parameters()) {
        BOOST_TEST(p->l1 == 0.0f);
        BOOST_TEST(p->l2 == 0.0f);
        BOOST_TEST(p->trainable);
    }
    auto layer = load<plexus::Layer>("dense units=2 l1=0.01 l2=0.0005");
    layer->build({1, 3}, *device, {});
    const auto params = layer->parameters();
    BOOST_REQUIRE_EQUAL(params.size(), 2u);
    BOOST_TEST(params[0]->l1 == 0.01f);
    BOOST_TEST(params[0]->l2 == 0.0005f);
    BOOST_TEST(params[1]->l1 == 0.0f);  // the bias is not regularised (Keras's default)
    BOOST_TEST(params[1]->l2 == 0.0f);
}

BOOST_AUTO_TEST_CASE(trainable_false_freezes_kernel_and_bias_but_passes_dx) {
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("dense units=2 trainable=false");
    layer->build({2, 3}, *device, {});
    auto params = layer->parameters();
    BOOST_REQUIRE_EQUAL(params.size(), 2u);
    BOOST_TEST(!params[0]->trainable);
    BOOST_TEST(!params[1]->trainable);
    device->upload(params[0]->value, kW);
    device->upload(params[1]->value, kB);
    const auto x = make_tensor(*device, {2, 3}, kX);
    const auto y = device->alloc({2, 2});
    layer->forward(x, y, plexus::Mode::train);
    check_close(to_host(*device, y), {3, 5, 0.5f, 2});
    const auto dy = make_tensor(*device, {2, 2}, {1, 1, 1, 1});
    const auto dx = device->alloc({2, 3});
    layer->backward(x, y, dy, &dx);
    check_close(to_host(*device, dx), {0, 2, 1.5f, 0, 2, 1.5f});  // as when trainable
    // The frozen gradients stay at the zeros build() wrote.
    check_close(to_host(*device, params[0]->grad), {0, 0, 0, 0, 0, 0});
    check_close(to_host(*device, params[1]->grad), {0, 0});
    // check_layer skips frozen parameters: only the 20 inputs are compared.
    auto frozen = load<plexus::Layer>("dense units=3 trainable=false");
    const auto r = plexus::testing::check_layer(*frozen, *device, {4, 5});
    BOOST_TEST(r.max_rel_error < 1e-2, "worst " << r.worst);
    BOOST_TEST(r.checked == 20u);
}
