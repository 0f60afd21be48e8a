#define BOOST_TEST_MODULE reshape
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "build_error.hpp"
#include "check_close.hpp"
#include "layer_devices.hpp"
#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"

using plexus::testing::load;
using plexus::testing::make_tensor;
using plexus::testing::to_host;

using plexus::test::build_error;
using plexus::test::build_shape;
using plexus::test::check_close;

BOOST_AUTO_TEST_CASE(shapes) {
    struct Case {
        const char* spec;
        plexus::Shape input, output;
    };
    const Case cases[] = {
        {"flatten", {8, 3, 4, 5}, {8, 60}},
        {"flatten", {8, 28, 28}, {8, 784}},
        {"flatten", {8, 10}, {8, 10}},
        {"reshape shape=1x28x28", {8, 784}, {8, 1, 28, 28}},
        {"reshape shape=784", {8, 28, 28}, {8, 784}},
        {"reshape shape=2x3x2x5x1", {8, 60}, {8, 2, 3, 2, 5, 1}},  // the most dimensions
    };
    for (const Case& c : cases)  // no parameters: " with parameters" never follows
        BOOST_TEST(build_shape(c.spec, c.input) == c.output.str(),
                   c.spec << " on " << c.input.str());
}

BOOST_AUTO_TEST_CASE(values_keep_their_row_major_order_and_gradients_pass_through) {
    for (const auto& [name, device] : plexus::test::layer_devices()) {
        BOOST_TEST_CONTEXT(name) {
            auto layer = load<plexus::Layer>("reshape shape=3x2");
            layer->build({4, 2, 3}, *device, {});
            // Two samples of a batch built for four: [2, 2, 3] -> [2, 3, 2], the same values.
            const std::vector<float> v = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
            const std::vector<float> g = {-1, -2, -3, -4, -5, -6, 0, 0, 0, 0, 1, 2};
            const auto x = make_tensor(*device, {2, 2, 3}, v);
            const auto y = device->alloc({2, 3, 2});
            const auto dy = make_tensor(*device, {2, 3, 2}, g);
            const auto dx = device->alloc({2, 2, 3});
            const auto before = device->counters().allocations;
            layer->forward(x, y, plexus::Mode::train);
            layer->backward(x, y, dy, &dx);
            BOOST_TEST(device->counters().allocations == before);
            check_close(to_host(*device, y), v);
            check_close(to_host(*device, dx), g);
        }
    }
}

BOOST_AUTO_TEST_CASE(gradients_match_finite_differences) {
    auto device = load<plexus::Device>("cpu");
    const std::pair<const char*, plexus::Shape> cases[] = {
        {"flatten", {3, 2, 3, 4}},
        {"reshape shape=4x6", {3, 2, 3, 4}},
        {"reshape shape=1x4x4", {2, 16}},
    };
    for (const auto& [spec, shape] : cases) {
        BOOST_TEST_CONTEXT(spec << " on " << shape.str()) {
            auto layer = load<plexus::Layer>(spec);
            const auto r = plexus::testing::check_layer(*layer, *device, shape);
            BOOST_TEST(r.max_rel_error < 1e-2, "worst " << r.worst << ": " << r.max_rel_error);
            BOOST_TEST(r.checked == std::min<std::size_t>(shape.numel(), 64));
        }
    }
}

BOOST_AUTO_TEST_CASE(bad_shapes_are_rejected_with_clear_messages) {
    BOOST_CHECK_THROW(load<plexus::Layer>("reshape"), plexus::ParamError);  // shape is required
    for (const char* bad : {"reshape shape=", "reshape shape=1x0x28", "reshape shape=28x",
                            "reshape shape=-1x28", "reshape shape=2x2x2x2x2x2", "reshape shape=a"})
        BOOST_CHECK_THROW(load<plexus::Layer>(bad), plexus::Error);
    try {
        load<plexus::Layer>("reshape shape=28y28");
        BOOST_FAIL("28y28 accepted");
    } catch (const plexus::Error& e) {
        const std::string message = e.what();
        BOOST_TEST(message.ends_with("reshape: shape '28y28' must be 1 to 5 positive sizes "
                                     "joined by x (e.g. shape=1x28x28 or shape=784)"),
                   message);
    }
    BOOST_TEST(build_error("reshape shape=1x28x29", {8, 28, 28}) ==
               "reshape: cannot reshape samples of shape [28, 28] (784 values) into [1, 28, 29] "
               "(812 values)");
    BOOST_TEST(build_error("flatten", {8}) == "flatten: expected input [batch, ...], got [8]");
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("flatten");
    layer->build({2, 3, 4}, *device, {});
    const auto x = device->alloc({2, 13});
    const auto y = device->alloc({2, 13});
    BOOST_CHECK_THROW(layer->forward(x, y, plexus::Mode::infer), plexus::ShapeError);
}
