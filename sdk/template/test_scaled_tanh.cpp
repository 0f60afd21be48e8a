// Tests for the scaled_tanh layer: hand-computed values, parameters, no allocation after
// build(), and the same finite-difference gradient check Plexus uses for its own layers.
#define BOOST_TEST_MODULE scaled_tanh
#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"

namespace tt = boost::test_tools;
using plexus::testing::make_tensor;
using plexus::testing::to_host;

namespace {

// This build folder first (the plugin under test), then the plugins of the Plexus we built
// against (the cpu device); the default search path comes after both.
std::vector<std::string> plugin_paths() {
    std::vector<std::string> paths{PLUGIN_DIR};
    if (!std::string(PLEXUS_PLUGIN_DIR).empty()) paths.emplace_back(PLEXUS_PLUGIN_DIR);
    return paths;
}

std::shared_ptr<plexus::Device> cpu() {
    return plexus::testing::load<plexus::Device>("cpu", plugin_paths());
}

std::shared_ptr<plexus::Layer> scaled_tanh(const std::string& params = "") {
    return plexus::testing::load<plexus::Layer>("scaled_tanh " + params, plugin_paths());
}

}  // namespace

BOOST_AUTO_TEST_CASE(forward_and_backward_match_hand_computed_values) {
    auto device = cpu();
    auto layer = scaled_tanh();
    BOOST_TEST((layer->build({2, 3}, *device, {}) == plexus::Shape{2, 3}));
    BOOST_TEST(layer->parameters().empty());

    // 1.7159·tanh(2/3·x): f(0) = 0, f(±1) ≈ ±1 by design, f(1.5) = 1.7159·tanh(1).
    const auto x = make_tensor(*device, {2, 3}, {0, 1.5f, -1.5f, 1, 3, -0.75f});
    const auto y = device->alloc({2, 3});
    layer->forward(x, y, plexus::Mode::train);
    const std::vector<float> expected_y{0.0f,       1.3068194f, -1.3068194f,
                                        0.9999973f, 1.6541749f, -0.7929468f};
    BOOST_TEST(to_host(*device, y) == expected_y, tt::tolerance(1e-5f) << tt::per_element());

    // dx = dy · A·B·(1 − tanh²(Bx)); A·B = 1.14393 at x = 0.
    const auto dy = make_tensor(*device, {2, 3}, {1, 1, 2, 1, 1, -1});
    const auto dx = device->alloc({2, 3});
    layer->backward(x, y, dy, &dx);
    const std::vector<float> expected_dx{1.1439333f, 0.4804226f, 0.9608453f,
                                         0.7554124f, 0.0808198f, -0.8996438f};
    BOOST_TEST(to_host(*device, dx) == expected_dx, tt::tolerance(1e-5f) << tt::per_element());
}

BOOST_AUTO_TEST_CASE(parameters_change_the_curve_and_are_validated) {
    auto device = cpu();
    auto plain = scaled_tanh("a=1 b=1");  // plain tanh
    plain->build({1, 2}, *device, {});
    const auto x = make_tensor(*device, {1, 2}, {0.5f, -2.0f});
    const auto y = device->alloc({1, 2});
    plain->forward(x, y, plexus::Mode::infer);
    BOOST_TEST(to_host(*device, y) == std::vector<float>({0.46211716f, -0.96402758f}),
               tt::tolerance(1e-6f) << tt::per_element());

    BOOST_CHECK_THROW(scaled_tanh("a=0"), plexus::ParamError);
    BOOST_CHECK_THROW(scaled_tanh("b=-1"), plexus::ParamError);
    BOOST_CHECK_THROW(scaled_tanh("c=1"), plexus::ParamError);
}

BOOST_AUTO_TEST_CASE(smaller_batches_and_in_place_backward_allocate_nothing) {
    auto device = cpu();
    auto layer = scaled_tanh();
    BOOST_TEST((layer->build({8, 3, 4, 4}, *device, {}) == plexus::Shape{8, 3, 4, 4}));
    const auto x = device->alloc({2, 3, 4, 4});
    device->fill(x, 0.0f);
    const auto y = device->alloc({2, 3, 4, 4});
    const auto g = device->alloc({2, 3, 4, 4});
    device->fill(g, 2.0f);
    const auto before = device->counters().allocations;
    layer->forward(x, y, plexus::Mode::train);
    layer->backward(x, y, g, &g);  // dx aliases dy
    layer->backward(x, y, g, nullptr);
    BOOST_TEST(device->counters().allocations == before);
    for (float v : to_host(*device, g))
        BOOST_TEST(v == 2.0f * 1.7159f * (2.0f / 3.0f), tt::tolerance(1e-5f));

    const auto too_big = device->alloc({9, 3, 4, 4});
    BOOST_CHECK_THROW(layer->backward(too_big, too_big, too_big, &too_big), plexus::ShapeError);
}

BOOST_AUTO_TEST_CASE(gradients_match_finite_differences) {
    auto device = cpu();
    auto layer = scaled_tanh();
    const auto r = plexus::testing::check_layer(*layer, *device, {3, 7});
    BOOST_TEST(r.max_rel_error < 1e-2, "worst " << r.worst << ": " << r.max_rel_error);
    BOOST_TEST(r.checked == 21u);

    auto image = scaled_tanh("a=2 b=1.5");
    const auto r4 = plexus::testing::check_layer(*image, *device, {2, 3, 4, 4}, {.seed = 5});
    BOOST_TEST(r4.max_rel_error < 1e-2, "worst " << r4.worst << ": " << r4.max_rel_error);
    BOOST_TEST(r4.checked == 64u);  // max_checks of the 96 inputs
}
