#define BOOST_TEST_MODULE conv2d
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
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
using plexus::test::check_close;

namespace {

// A 3x3 image 1..9 and two 2x2 filters: K0 = [[1, 2], [3, 4]], K1 picks the lower right tap.
const std::vector<float> kImage = {1, 2, 3, 4, 5, 6, 7, 8, 9};
const std::vector<float> kKernel = {1, 2, 3, 4, 0, 0, 0, 1};
const std::vector<float> kBias = {0.5f, -1};

// PyTorch's results (torch_reference.py) for inputs made by the same formula as there.
struct Reference {
    const char* spec;
    plexus::Shape input;
    plexus::Shape kernel;
    std::vector<float> y, dx, dkernel, dbias;
};

const Reference kReferences[] = {
#include "torch_reference.inc"
};

// value[i] = ((i * mul) % mod - off) / div, as pattern() in torch_reference.py.
std::vector<float> pattern(std::size_t n, int mul, int mod, int off, float div) {
    std::vector<float> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<float>(static_cast<int>((i * mul) % mod) - off) / div;
    return v;
}

}  // namespace

BOOST_AUTO_TEST_CASE(forward_and_backward_match_hand_computed_values) {
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("conv2d filters=2 kernel=2");
    BOOST_TEST((layer->build({1, 1, 3, 3}, *device, {}) == plexus::Shape{1, 2, 2, 2}));
    auto params = layer->parameters();
    BOOST_REQUIRE_EQUAL(params.size(), 2u);
    BOOST_TEST(params[0]->name == "kernel");
    BOOST_TEST((params[0]->value.shape() == plexus::Shape{2, 1, 2, 2}));  // OIHW
    BOOST_TEST((params[1]->value.shape() == plexus::Shape{2}));
    device->upload(params[0]->value, kKernel);
    device->upload(params[1]->value, kBias);

    const auto x = make_tensor(*device, {1, 1, 3, 3}, kImage);
    const auto y = device->alloc({1, 2, 2, 2});
    layer->forward(x, y, plexus::Mode::train);
    // K0 at (0, 0): 1*1 + 2*2 + 3*4 + 4*5 = 37, then 47, 67, 77; K1 reads 5, 6, 8, 9.
    check_close(to_host(*device, y), {37.5f, 47.5f, 67.5f, 77.5f, 4, 5, 7, 8});

    // dy = 1: dK[f][i][j] = the sum of the 2x2 block of x at (i, j); db = 4 positions;
    // dx[h][w] = the sum of the kernel taps that read (h, w), over both filters.
    const auto dy = make_tensor(*device, {1, 2, 2, 2}, std::vector<float>(8, 1.0f));
    const auto dx = device->alloc({1, 1, 3, 3});
    layer->backward(x, y, dy, &dx);
    check_close(to_host(*device, params[0]->grad), {12, 16, 24, 28, 12, 16, 24, 28});
    check_close(to_host(*device, params[1]->grad), {4, 4});
    check_close(to_host(*device, dx), {1, 3, 2, 4, 11, 7, 3, 8, 5});
}

BOOST_AUTO_TEST_CASE(same_padding_puts_the_odd_row_at_the_bottom_as_tensorflow) {
    auto device = load<plexus::Device>("cpu");
    // [H, W] samples are one channel. A 2x2 kernel on 3x3 pads one row and one column, both
    // after the image: output (i, j) reads x[i..i+1][j..j+1].
    auto layer = load<plexus::Layer>("conv2d filters=2 kernel=2 padding=same");
    BOOST_TEST((layer->build({1, 3, 3}, *device, {}) == plexus::Shape{1, 2, 3, 3}));
    auto params = layer->parameters();
    device->upload(params[0]->value, kKernel);
    device->upload(params[1]->value, kBias);
    const auto x = make_tensor(*device, {1, 3, 3}, kImage);
    const auto y = device->alloc({1, 2, 3, 3});
    layer->forward(x, y, plexus::Mode::infer);
    // K0: the 2x2 blocks as before, then 3*1 + 6*3 = 21 and 6*1 + 9*3 = 33 on the right,
    // 7*1 + 8*2 = 23 and 8 + 18 = 26 at the bottom, 9 alone in the corner.
    check_close(to_host(*device, y), {37.5f, 47.5f, 21.5f, 67.5f, 77.5f, 33.5f, 23.5f, 26.5f,
                                      9.5f,  // K1 reads the lower right tap, 0 past the edge
                                      4, 5, -1, 7, 8, -1, -1, -1, -1});
}

BOOST_AUTO_TEST_CASE(forward_and_backward_match_pytorch_on_every_device) {
    for (const auto& [name, device] : plexus::test::layer_devices())
        for (const Reference& ref : kReferences) {
            BOOST_TEST_CONTEXT(name << ": " << ref.spec) {
                auto layer = load<plexus::Layer>(ref.spec);
                const plexus::Shape out = layer->build(ref.input, *device, {});
                BOOST_REQUIRE_EQUAL(out.numel(), ref.y.size());
                auto params = layer->parameters();
                BOOST_REQUIRE((params[0]->value.shape() == ref.kernel));
                device->upload(params[0]->value, pattern(ref.kernel.numel(), 13, 17, 8, 16));
                device->upload(params[1]->value, pattern(ref.kernel[0], 7, 5, 2, 4));
                const auto x =
                    make_tensor(*device, ref.input, pattern(ref.input.numel(), 37, 23, 11, 8));
                const auto y = device->alloc(out);
                const auto dy = make_tensor(*device, out, pattern(out.numel(), 29, 19, 9, 4));
                const auto dx = device->alloc(ref.input);
                layer->forward(x, y, plexus::Mode::train);
                layer->backward(x, y, dy, &dx);
                check_close(to_host(*device, y), ref.y, 1e-5f);
                check_close(to_host(*device, dx), ref.dx, 1e-5f);
                check_close(to_host(*device, params[0]->grad), ref.dkernel, 1e-5f);
                check_close(to_host(*device, params[1]->grad), ref.dbias, 1e-5f);
            }
        }
}

// A device that runs the conv2d fused keys (the cpu device with oneDNN) against the layer's
// im2col + GEMM path (fused=false), on the same weights and inputs: the geometries of the
// conformance table, trained with dx and without (a first layer), and frozen.
BOOST_AUTO_TEST_CASE(fused_kernels_match_the_primitive_path) {
    auto device = load<plexus::Device>("cpu");
    const auto keys = device->fused_keys();
    if (!keys.contains(plexus::fused::Key::conv2d_forward)) {
        BOOST_TEST_MESSAGE("skipped: this build's cpu device has no conv2d fused keys");
        return;
    }
    const std::pair<const char*, plexus::Shape> cases[] = {
        {"filters=4 kernel=3 padding=same", {2, 3, 7, 9}},
        {"filters=5 kernel=3 stride=2 padding=same", {2, 3, 7, 8}},
        {"filters=4 kernel=3 dilation=2", {2, 2, 9, 7}},
        {"filters=3 kernel=3x5 padding=2", {1, 1, 6, 7}},
        {"filters=3 kernel=1 stride=2", {3, 5, 5, 5}},
        {"filters=6 kernel=3 stride=2x1", {2, 3, 8, 6}},
        {"filters=32 kernel=3 padding=same use_bias=false", {3, 16, 6, 6}},
        {"filters=4 kernel=3 padding=same trainable=false", {2, 3, 5, 5}},
        // One channel (a first layer on grey images): model (d)'s conv 1 on 8 images, odd
        // valid planes, a plane of one row.
        {"filters=32 kernel=3 padding=same", {8, 1, 28, 28}},
        {"filters=5 kernel=3", {2, 1, 5, 9}},
        {"filters=3 kernel=3 padding=same use_bias=false", {1, 1, 1, 3}},
    };
    for (const auto& [spec, input] : cases)
        for (const bool with_dx : {true, false}) {
            BOOST_TEST_CONTEXT(spec << (with_dx ? ", dx" : ", no dx")) {
                std::vector<std::vector<float>> got[2];
                for (const bool fused : {true, false}) {
                    auto layer = load<plexus::Layer>(std::string("conv2d ") + spec +
                                                     (fused ? "" : " fused=false"));
                    const plexus::Shape out = layer->build(input, *device, {});
                    for (plexus::Parameter* p : layer->parameters())  // a bias too, not zeros
                        device->upload(p->value, pattern(p->value.numel(), 13, 17, 8, 16));
                    const auto x =
                        make_tensor(*device, input, pattern(input.numel(), 37, 23, 11, 8));
                    const auto dy = make_tensor(*device, out, pattern(out.numel(), 29, 19, 9, 4));
                    const auto y = device->alloc(out), dx = device->alloc(input);
                    device->fill(dx, 0.0f);
                    layer->forward(x, y, plexus::Mode::train);
                    layer->backward(x, y, dy, with_dx ? &dx : nullptr);
                    auto& r = got[fused ? 0 : 1];
                    r = {to_host(*device, y), to_host(*device, dx)};
                    for (plexus::Parameter* p : layer->parameters())
                        r.push_back(to_host(*device, p->grad));
                }
                BOOST_REQUIRE_EQUAL(got[0].size(), got[1].size());
                for (std::size_t i = 0; i < got[0].size(); ++i) check_close(got[0][i], got[1][i], 1e-4f);
            }
        }
}

BOOST_AUTO_TEST_CASE(gradients_match_finite_differences) {
    auto device = load<plexus::Device>("cpu");
    struct Case {
        const char* spec;
        plexus::Shape input;
    };
    const Case cases[] = {
        {"conv2d filters=4 kernel=3", {2, 3, 6, 5}},
        {"conv2d filters=3 kernel=3 stride=2", {2, 2, 7, 7}},
        {"conv2d filters=3 kernel=3 padding=same", {2, 3, 5, 4}},
        {"conv2d filters=2 kernel=3 stride=2 padding=same", {2, 2, 6, 5}},
        {"conv2d filters=3 kernel=3 dilation=2", {2, 2, 7, 6}},
        {"conv2d filters=2 kernel=3x2 dilation=2x1 padding=same", {2, 2, 5, 5}},
        {"conv2d filters=5 kernel=1", {3, 3, 4, 4}},
        {"conv2d filters=3 kernel=2x3 stride=2x1 padding=1", {2, 3, 5, 6}},
        {"conv2d filters=4 kernel=3 init=he_normal", {1, 3, 5, 5}},  // batch 1
        {"conv2d filters=3 kernel=3 use_bias=false", {2, 3, 5, 5}},
        {"conv2d filters=2 kernel=3 padding=same", {2, 6, 6}},  // [H, W] samples
    };
    // The output is linear in x and in the kernel, so a large step is exact and keeps float
    // rounding of y (~1e-7 |y|) small against the differences.
    plexus::testing::GradCheckOptions options;
    options.epsilon = 0.1f;
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT(c.spec << " on " << c.input.str()) {
            auto layer = load<plexus::Layer>(c.spec);
            const auto r = plexus::testing::check_layer(*layer, *device, c.input, options);
            BOOST_TEST(r.max_rel_error < 1e-2, "worst " << r.worst << ": " << r.max_rel_error);
            BOOST_TEST(r.checked > 64u);  // the input and the kernel at least
        }
    }
}

BOOST_AUTO_TEST_CASE(smaller_batches_use_the_workspaces_and_allocate_nothing) {
    for (const auto& [name, device] : plexus::test::layer_devices()) {
        BOOST_TEST_CONTEXT(name) {
            auto layer = load<plexus::Layer>("conv2d filters=2 kernel=2");
            layer->build({4, 1, 3, 3}, *device, {});
            auto params = layer->parameters();
            device->upload(params[0]->value, kKernel);
            device->upload(params[1]->value, kBias);
            std::vector<float> two = kImage;  // the image, then its negation
            for (float v : kImage) two.push_back(-v);
            const auto x = make_tensor(*device, {2, 1, 3, 3}, two);
            const auto y = device->alloc({2, 2, 2, 2});
            const auto dy = make_tensor(*device, {2, 2, 2, 2}, std::vector<float>(16, 1.0f));
            const auto dx = device->alloc({2, 1, 3, 3});
            const auto before = device->counters().allocations;
            layer->forward(x, y, plexus::Mode::train);
            layer->backward(x, y, dy, &dx);
            layer->backward(x, y, dy, nullptr);  // the patches were overwritten by dx: recomputed
            BOOST_TEST(device->counters().allocations == before);
            check_close(to_host(*device, y), {37.5f, 47.5f, 67.5f, 77.5f, 4, 5, 7, 8, -36.5f,
                                              -46.5f, -66.5f, -76.5f, -6, -7, -9, -10});
            check_close(to_host(*device, dx),
                        {1, 3, 2, 4, 11, 7, 3, 8, 5, 1, 3, 2, 4, 11, 7, 3, 8, 5});
            // The image and its negation cancel in dK; db counts 8 positions.
            check_close(to_host(*device, params[0]->grad), std::vector<float>(8, 0.0f));
            check_close(to_host(*device, params[1]->grad), {8, 8});
        }
    }
}

BOOST_AUTO_TEST_CASE(trainable_false_freezes_kernel_and_bias_but_passes_dx) {
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("conv2d filters=2 kernel=2 trainable=false l2=0.01");
    layer->build({1, 1, 3, 3}, *device, {});
    auto params = layer->parameters();
    BOOST_TEST(!params[0]->trainable);
    BOOST_TEST(!params[1]->trainable);
    BOOST_TEST(params[0]->l2 == 0.01f);
    BOOST_TEST(params[1]->l2 == 0.0f);  // the bias is not regularised
    device->upload(params[0]->value, kKernel);
    const auto x = make_tensor(*device, {1, 1, 3, 3}, kImage);
    const auto y = device->alloc({1, 2, 2, 2});
    const auto dy = make_tensor(*device, {1, 2, 2, 2}, std::vector<float>(8, 1.0f));
    const auto dx = device->alloc({1, 1, 3, 3});
    layer->forward(x, y, plexus::Mode::train);
    layer->backward(x, y, dy, &dx);
    check_close(to_host(*device, dx), {1, 3, 2, 4, 11, 7, 3, 8, 5});
    check_close(to_host(*device, params[0]->grad), std::vector<float>(8, 0.0f));
    check_close(to_host(*device, params[1]->grad), {0, 0});
}

BOOST_AUTO_TEST_CASE(initialisation_uses_keras_fans) {
    auto device = load<plexus::Device>("cpu");
    // fan_in = C*kh*kw = 8*9 = 72, fan_out = filters*kh*kw = 16*9 = 144.
    auto glorot = load<plexus::Layer>("conv2d filters=16 kernel=3");
    glorot->build({1, 8, 5, 5}, *device, {5, 0});
    const auto w = to_host(*device, glorot->parameters()[0]->value);
    const float limit = std::sqrt(6.0f / (72 + 144));  // 0.1667
    float lo = 0, hi = 0;
    for (float v : w) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    BOOST_TEST(lo >= -limit);
    BOOST_TEST(hi <= limit);
    BOOST_TEST(hi > 0.95f * limit);
    BOOST_TEST(lo < -0.95f * limit);

    auto he = load<plexus::Layer>("conv2d filters=64 kernel=3 init=he_normal");
    he->build({1, 8, 5, 5}, *device, {5, 0});
    const auto v = to_host(*device, he->parameters()[0]->value);  // 4608 draws
    double sq = 0;
    for (float x : v) sq += double(x) * x;
    BOOST_TEST(std::sqrt(sq / v.size()) == std::sqrt(2.0 / 72),  // 0.1667
               boost::test_tools::tolerance(0.05));
}

BOOST_AUTO_TEST_CASE(bad_parameters_and_shapes_are_rejected_with_clear_messages) {
    BOOST_CHECK_THROW(load<plexus::Layer>("conv2d filters=2"), plexus::ParamError);  // kernel
    BOOST_CHECK_THROW(load<plexus::Layer>("conv2d kernel=3"), plexus::ParamError);   // filters
    // The factory's ParamError reaches the caller as the registry's "cannot create" error.
    try {
        load<plexus::Layer>("conv2d filters=2 kernel=3y5");
        BOOST_FAIL("3y5 accepted");
    } catch (const plexus::Error& e) {
        const std::string message = e.what();
        BOOST_TEST(message.ends_with("conv2d: kernel '3y5' must be a positive integer N (NxN) "
                                     "or HxW (e.g. kernel=3 or kernel=3x5)"),
                   message);
    }
    for (const char* bad : {"kernel=0", "kernel=3x0", "kernel=-3", "kernel=3x5x7",
                            "kernel=3 stride=0", "kernel=3 stride=2x", "kernel=3 dilation=a",
                            "kernel=3 padding=full", "kernel=3 padding=-1"})
        BOOST_CHECK_THROW(load<plexus::Layer>(std::string("conv2d filters=2 ") + bad),
                          plexus::Error);

    BOOST_TEST(build_error("conv2d filters=2 kernel=5", {8, 1, 3, 3}) ==
               "conv2d: a 5x5 kernel (valid padding) does not fit a 3x3 input [1, 3, 3]; use "
               "a smaller kernel or dilation, or padding=same");
    BOOST_TEST(build_error("conv2d filters=2 kernel=3 dilation=2", {8, 4, 4}) ==
               "conv2d: a 3x3 kernel dilated 2x2 (spanning 5x5) (valid padding) does not fit a "
               "4x4 input [4, 4]; use a smaller kernel or dilation, or padding=same");
    BOOST_TEST(build_error("conv2d filters=2 kernel=3 padding=3", {8, 4, 4}) ==
               "conv2d: padding 3 must be smaller than the kernel's span 3x3 (a 3x3 kernel); "
               "use a smaller padding or padding=same");
    BOOST_TEST(build_error("conv2d filters=2 kernel=3", {8, 15}) ==
               "conv2d: expected images [batch, C, H, W] or [batch, H, W], got [8, 15]; to read 15 "
               "features as an image, put 'layer = reshape shape=CxHxW' before it");
    BOOST_TEST(build_error("conv2d filters=2 kernel=5 padding=same", {8, 1, 3, 3}) == "(no error)");

    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("conv2d filters=2 kernel=2");
    layer->build({2, 1, 3, 3}, *device, {});
    const auto big = device->alloc({3, 1, 3, 3});  // more samples than built for
    const auto wide = device->alloc({2, 1, 4, 3});
    const auto y = device->alloc({3, 2, 2, 2});
    BOOST_CHECK_THROW(layer->forward(big, y, plexus::Mode::infer), plexus::ShapeError);
    BOOST_CHECK_THROW(layer->forward(wide, y.rows(0, 2), plexus::Mode::infer), plexus::ShapeError);
}
