// Expected values are worked out by hand from the definitions, not produced by the device.
#define BOOST_TEST_MODULE pooling
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
using Floats = std::vector<float>;

using plexus::test::build_error;
using plexus::test::build_shape;
using plexus::test::check_close;

namespace {

const Floats kImage = {1, 2, 3, 4, 5, 6, 7, 8, 9};  // one 3x3 channel

// Builds `spec` for `input` on every device, runs forward (in `mode`) on x and backward with
// dy, and compares y and dx with the values worked out by hand.
void expect(const std::string& spec, const plexus::Shape& input, const Floats& x_values,
            const Floats& dy_values, const Floats& want_y, const Floats& want_dx,
            plexus::Mode mode = plexus::Mode::train) {
    for (const auto& [name, device] : plexus::test::layer_devices()) {
        BOOST_TEST_CONTEXT(name << ": " << spec << " on " << input.str()) {
            auto layer = load<plexus::Layer>(spec);
            const plexus::Shape out = layer->build(input, *device, {});
            const auto x = make_tensor(*device, input, x_values);
            const auto y = device->alloc(out);
            const auto dy = make_tensor(*device, out, dy_values);
            const auto dx = device->alloc(input);
            layer->forward(x, y, mode);
            layer->backward(x, y, dy, &dx);
            check_close(to_host(*device, y), want_y);
            check_close(to_host(*device, dx), want_dx);
        }
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(shapes_follow_keras) {
    struct Case {
        const char* spec;
        plexus::Shape input, output;
    };
    const Case cases[] = {
        {"max_pool2d", {8, 3, 28, 28}, {8, 3, 14, 14}},
        {"max_pool2d", {8, 3, 7, 7}, {8, 3, 3, 3}},  // valid drops the last row and column
        {"max_pool2d padding=same", {8, 3, 7, 7}, {8, 3, 4, 4}},
        {"avg_pool2d size=3 stride=2", {8, 2, 9, 8}, {8, 2, 4, 3}},
        {"avg_pool2d size=3x2 stride=1x2", {8, 2, 9, 8}, {8, 2, 7, 4}},
        {"max_pool2d", {8, 28, 28}, {8, 1, 14, 14}},  // [H, W] samples are one channel
        {"global_avg_pool2d", {8, 16, 5, 7}, {8, 16}},
        {"global_max_pool2d", {8, 5, 7}, {8, 1}},
    };
    for (const Case& c : cases)  // no parameters: " with parameters" never follows
        BOOST_TEST(build_shape(c.spec, c.input) == c.output.str(),
                   c.spec << " on " << c.input.str());
}

BOOST_AUTO_TEST_CASE(max_and_avg_match_hand_computed_values) {
    struct Case {
        const char* spec;
        Floats dy, y, dx;
    };
    const Case cases[] = {
        // 2x2 windows, valid: only the top-left window of the 3x3 image.
        {"max_pool2d", {10}, {5}, {0, 0, 0, 0, 10, 0, 0, 0, 0}},
        {"avg_pool2d", {10}, {3}, {2.5f, 2.5f, 0, 2.5f, 2.5f, 0, 0, 0, 0}},
        // same: ceil(3/2) = 2, the padding row and column after the image; padding is never
        // pooled: windows {1,2,4,5}, {3,6}, {7,8}, {9}.
        {"max_pool2d padding=same", {1, 2, 3, 4}, {5, 6, 8, 9}, {0, 0, 0, 0, 1, 2, 0, 3, 4}},
        {"avg_pool2d padding=same", {4, 2, 6, 8}, {3, 4.5f, 7.5f, 9}, {1, 1, 1, 1, 1, 1, 3, 3, 8}},
        // Overlapping 2x2 windows at stride 1: the centre is in all four windows.
        {"avg_pool2d stride=1", {4, 4, 4, 4}, {3, 4, 6, 7}, {1, 2, 1, 2, 4, 2, 1, 2, 1}},
        {"max_pool2d stride=1", {1, 1, 1, 1}, {5, 6, 8, 9}, {0, 0, 0, 0, 1, 1, 0, 1, 1}},
    };
    for (const Case& c : cases) expect(c.spec, {1, 1, 3, 3}, kImage, c.dy, c.y, c.dx);
}

BOOST_AUTO_TEST_CASE(max_sends_a_tie_to_the_first_maximum_only) {
    // Window 1 = {1, 1, 1, 0}: three tied maxima; window 2 = {0, 2, 2, 2}. Rows, then
    // columns: the first maximum is (0, 0) in window 1 and (0, 3) in window 2, as TensorFlow
    // and PyTorch choose.
    const Floats x = {1, 1, 0, 2,  //
                      1, 0, 2, 2};
    expect("max_pool2d", {1, 1, 2, 4}, x, {3, 5}, {1, 2}, {3, 0, 0, 5, 0, 0, 0, 0});
    // The same after an infer-mode forward: backward finds the indices again.
    expect("max_pool2d", {1, 1, 2, 4}, x, {3, 5}, {1, 2}, {3, 0, 0, 5, 0, 0, 0, 0},
           plexus::Mode::infer);
    // A constant channel: the global maximum is the first element.
    expect("global_max_pool2d", {1, 1, 2, 2}, {7, 7, 7, 7}, {2}, {7}, {2, 0, 0, 0});
}

BOOST_AUTO_TEST_CASE(global_pools_reduce_each_channel) {
    // Two samples of two 2x2 channels.
    const Floats x = {1, 2, 3, 4, -1, -2, -3, -8, 0, 0, 0, 4, 5, 6, 7, 8};
    expect("global_avg_pool2d", {2, 2, 2, 2}, x, {4, 8, 12, -4}, {2.5f, -3.5f, 1, 6.5f},
           {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, -1, -1, -1, -1});
    expect("global_max_pool2d", {2, 2, 2, 2}, x, {4, 8, 12, -4}, {4, -1, 4, 8},
           {0, 0, 0, 4, 8, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0, -4});
}

BOOST_AUTO_TEST_CASE(gradients_match_finite_differences) {
    auto device = load<plexus::Device>("cpu");
    const std::pair<const char*, plexus::Shape> cases[] = {
        {"max_pool2d", {2, 3, 6, 6}},
        {"max_pool2d size=3 stride=2 padding=same", {2, 2, 7, 6}},
        {"max_pool2d size=2x3 stride=1", {1, 3, 5, 6}},  // overlapping, batch 1
        {"avg_pool2d", {2, 3, 6, 6}},
        {"avg_pool2d size=3 stride=2 padding=same", {2, 2, 7, 6}},
        {"avg_pool2d size=3x2 stride=1", {1, 3, 5, 5}},
        {"global_max_pool2d", {3, 4, 3, 5}},
        {"global_avg_pool2d", {3, 4, 3, 5}},
        {"max_pool2d padding=same", {2, 5, 5}},  // [H, W] samples
    };
    // Pooling is piecewise linear: a small step stays within one piece unless two inputs of
    // a window lie within it, which random inputs in [-1, 1] seldom do at 1e-4 (at 1e-3 one
    // of the overlapping 2x3 windows did). Max copies inputs exactly, so the differences
    // lose only the rounding of x + eps.
    plexus::testing::GradCheckOptions options;
    options.epsilon = 1e-4f;
    for (const auto& [spec, shape] : cases) {
        BOOST_TEST_CONTEXT(spec << " on " << shape.str()) {
            auto layer = load<plexus::Layer>(spec);
            const auto r = plexus::testing::check_layer(*layer, *device, shape, options);
            BOOST_TEST(r.max_rel_error < 1e-2, "worst " << r.worst << ": " << r.max_rel_error);
            BOOST_TEST(r.checked >= 45u);
        }
    }
}

BOOST_AUTO_TEST_CASE(smaller_batches_allocate_nothing) {
    auto device = load<plexus::Device>("cpu");
    for (const char* spec : {"max_pool2d", "avg_pool2d", "global_max_pool2d"}) {
        BOOST_TEST_CONTEXT(spec) {
            auto layer = load<plexus::Layer>(spec);
            const plexus::Shape out = layer->build({4, 1, 3, 3}, *device, {});
            const auto x = make_tensor(*device, {2, 1, 3, 3}, Floats(18, 1.0f));
            const auto y = device->alloc(out.with_rows(2));
            const auto dy = make_tensor(*device, out.with_rows(2), Floats(y.numel(), 1.0f));
            const auto dx = device->alloc({2, 1, 3, 3});
            const auto before = device->counters().allocations;
            layer->forward(x, y, plexus::Mode::train);
            layer->backward(x, y, dy, &dx);
            layer->forward(x, y, plexus::Mode::infer);
            layer->backward(x, y, dy, &dx);
            BOOST_TEST(device->counters().allocations == before);
            check_close(to_host(*device, y), Floats(y.numel(), 1.0f));
        }
    }
}

BOOST_AUTO_TEST_CASE(bad_parameters_and_shapes_are_rejected_with_clear_messages) {
    BOOST_CHECK_THROW(load<plexus::Layer>("max_pool2d padding=full"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Layer>("avg_pool2d padding=1"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Layer>("global_avg_pool2d size=2"), plexus::ParamError);
    for (const char* bad : {"max_pool2d size=0", "max_pool2d size=2y2", "avg_pool2d stride=x"})
        BOOST_CHECK_THROW(load<plexus::Layer>(bad), plexus::Error);
    BOOST_TEST(build_error("max_pool2d size=3", {4, 2, 2, 5}) ==
               "max_pool2d: a 3x3 kernel (valid padding) does not fit a 2x5 input [2, 2, 5]; "
               "use a smaller kernel or dilation, or padding=same");
    BOOST_TEST(build_error("global_avg_pool2d", {4, 10}) ==
               "global_avg_pool2d: expected images [batch, C, H, W] or [batch, H, W], got "
               "[4, 10]; to read 10 features as an image, put 'layer = reshape shape=CxHxW' "
               "before it");
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("max_pool2d");
    layer->build({2, 1, 4, 4}, *device, {});
    const auto x = device->alloc({2, 1, 4, 6});
    const auto y = device->alloc({2, 1, 2, 3});
    BOOST_CHECK_THROW(layer->forward(x, y, plexus::Mode::infer), plexus::ShapeError);
}
