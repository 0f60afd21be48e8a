#define BOOST_TEST_MODULE relu
#include <boost/test/unit_test.hpp>

#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"

using plexus::testing::load;
using plexus::testing::make_tensor;
using plexus::testing::to_host;

BOOST_AUTO_TEST_CASE(forward_and_backward_match_hand_computed_values) {
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("relu");
    BOOST_TEST((layer->build({2, 3}, *device, {}) == plexus::Shape{2, 3}));
    BOOST_TEST(layer->parameters().empty());

    const auto x = make_tensor(*device, {2, 3}, {-2, -0.5f, 0, 0.5f, 3, -1e-6f});
    const auto y = device->alloc({2, 3});
    layer->forward(x, y, plexus::Mode::train);
    BOOST_TEST(to_host(*device, y) == std::vector<float>({0, 0, 0, 0.5f, 3, 0}),
               boost::test_tools::per_element());

    // The gradient passes only where x > 0; at x == 0 it is 0 (the subgradient we pick).
    const auto dy = make_tensor(*device, {2, 3}, {1, 2, 3, 4, 5, 6});
    const auto dx = device->alloc({2, 3});
    layer->backward(x, y, dy, &dx);
    BOOST_TEST(to_host(*device, dx) == std::vector<float>({0, 0, 0, 4, 5, 0}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(keeps_the_input_shape_and_allocates_nothing) {
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("relu");
    BOOST_TEST((layer->build({8, 3, 4, 4}, *device, {}) == plexus::Shape{8, 3, 4, 4}));
    const auto x = device->alloc({2, 3, 4, 4});
    device->fill(x, -1.0f);
    const auto y = device->alloc({2, 3, 4, 4});
    const auto before = device->counters().allocations;
    layer->forward(x, y, plexus::Mode::infer);
    layer->backward(x, y, y, &y);
    layer->backward(x, y, y, nullptr);
    BOOST_TEST(device->counters().allocations == before);
    for (float v : to_host(*device, y)) BOOST_TEST(v == 0.0f);
}

BOOST_AUTO_TEST_CASE(gradients_match_finite_differences) {
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("relu");
    const auto r = plexus::testing::check_layer(*layer, *device, {3, 7});
    BOOST_TEST(r.max_rel_error < 1e-2, "worst " << r.worst);
    BOOST_TEST(r.checked == 21u);
    auto image = load<plexus::Layer>("relu");
    const auto r4 = plexus::testing::check_layer(*image, *device, {2, 3, 4, 4}, {.seed = 5});
    BOOST_TEST(r4.max_rel_error < 1e-2, "worst " << r4.worst);
    BOOST_TEST(r4.checked == 64u);  // max_checks of the 96 inputs
}
