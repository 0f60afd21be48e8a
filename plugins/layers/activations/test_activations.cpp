// Expected values are worked out by hand from the definitions (exp, tanh to 8 digits), not
// produced by the device.
#define BOOST_TEST_MODULE activations
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


const Floats kX = {-2, -0.5f, 0.5f, 3};
const Floats kDy = {1, 2, 3, 4};

// Runs forward and backward on x = kX as a [2, 2] batch with dy = kDy.
void expect(const std::string& spec, const Floats& want_y, const Floats& want_dx) {
    BOOST_TEST_CONTEXT(spec) {
        auto device = load<plexus::Device>("cpu");
        auto layer = load<plexus::Layer>(spec);
        BOOST_TEST((layer->build({2, 2}, *device, {}) == plexus::Shape{2, 2}));
        BOOST_TEST(layer->parameters().empty());
        const auto x = make_tensor(*device, {2, 2}, kX);
        const auto y = device->alloc({2, 2});
        const auto dy = make_tensor(*device, {2, 2}, kDy);
        const auto dx = device->alloc({2, 2});
        const auto before = device->counters().allocations;
        layer->forward(x, y, plexus::Mode::train);
        layer->backward(x, y, dy, &dx);
        layer->backward(x, y, dy, nullptr);
        BOOST_TEST(device->counters().allocations == before);
        check_close(to_host(*device, y), want_y);
        check_close(to_host(*device, dx), want_dx);
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(leaky_relu_defaults_to_keras_alpha) {
    // alpha = 0.3: negatives scaled by 0.3, and so is their gradient.
    expect("leaky_relu", {-0.6f, -0.15f, 0.5f, 3}, {0.3f, 0.6f, 3, 4});
    expect("leaky_relu alpha=0.01", {-0.02f, -0.005f, 0.5f, 3}, {0.01f, 0.02f, 3, 4});
    BOOST_CHECK_THROW(load<plexus::Layer>("leaky_relu alpha=-1"), plexus::ParamError);
}

BOOST_AUTO_TEST_CASE(elu) {
    // alpha*(e^x - 1) with e^-2 = 0.13533528, e^-0.5 = 0.60653066; gradient dy*alpha*e^x.
    expect("elu", {-0.86466472f, -0.39346934f, 0.5f, 3}, {0.13533528f, 1.2130613f, 3, 4});
    expect("elu alpha=2", {-1.7293294f, -0.78693868f, 0.5f, 3}, {0.27067057f, 2.4261226f, 3, 4});
}

BOOST_AUTO_TEST_CASE(sigmoid_and_tanh) {
    // sigmoid: 1/(1+e^-x); gradient dy*y*(1-y).
    expect("sigmoid", {0.11920292f, 0.37754067f, 0.62245933f, 0.95257413f},
           {0.10499359f, 0.47000742f, 0.70501114f, 0.18070664f});
    // tanh; gradient dy*(1-y^2).
    expect("tanh", {-0.96402758f, -0.46211716f, 0.46211716f, 0.99505475f},
           {0.070650825f, 1.5728955f, 2.3593432f, 0.039464149f});
}

BOOST_AUTO_TEST_CASE(linear_is_the_identity) {
    expect("linear", kX, kDy);
}

BOOST_AUTO_TEST_CASE(softmax_is_row_wise) {
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("softmax");
    BOOST_TEST((layer->build({2, 3}, *device, {}) == plexus::Shape{2, 3}));
    // Row 0: softmax(0, 1, 2) = e^k/(1+e+e^2); shifting a row changes nothing, so row 1
    // (1000, 1000, 1000) is uniform.
    const auto x = make_tensor(*device, {2, 3}, {0, 1, 2, 1000, 1000, 1000});
    const auto y = device->alloc({2, 3});
    layer->forward(x, y, plexus::Mode::infer);
    const float t = 1.0f / 3;
    check_close(to_host(*device, y), {0.09003057f, 0.24472847f, 0.66524096f, t, t, t});
    // dx = y*(dy - y.dy). Row 0, dy = e0: {y0(1-y0), -y1 y0, -y2 y0}. Row 1, dy = (1,-1,0):
    // y.dy = 0, so dx = y*dy.
    const auto dy = make_tensor(*device, {2, 3}, {1, 0, 0, 1, -1, 0});
    const auto dx = device->alloc({2, 3});
    layer->backward(x, y, dy, &dx);
    check_close(to_host(*device, dx),
                {0.081925069f, -0.022033045f, -0.059892025f, t, -t, 0});
    BOOST_CHECK_THROW(layer->build({4}, *device, {}), plexus::ShapeError);
}

BOOST_AUTO_TEST_CASE(gradients_match_finite_differences) {
    auto device = load<plexus::Device>("cpu");
    for (const char* spec : {"leaky_relu", "leaky_relu alpha=0.05", "elu", "elu alpha=0.5",
                             "sigmoid", "tanh", "softmax", "linear"}) {
        BOOST_TEST_CONTEXT(spec) {
            auto layer = load<plexus::Layer>(spec);
            const auto r = plexus::testing::check_layer(*layer, *device, {3, 7});
            BOOST_TEST_MESSAGE(spec << ": max rel error " << r.max_rel_error << " at "
                                    << r.worst);
            BOOST_TEST(r.max_rel_error < 1e-2, "worst " << r.worst);
            BOOST_TEST(r.checked == 21u);
            auto image = load<plexus::Layer>(spec);
            const auto r4 =
                plexus::testing::check_layer(*image, *device, {2, 3, 2, 2}, {.seed = 9});
            BOOST_TEST(r4.max_rel_error < 1e-2, "worst " << r4.worst);
        }
    }
}
