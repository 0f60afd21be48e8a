// plexus/support/window.hpp: the size and padding texts of the window layers and the geometry
// they give. Expected windows are worked out by hand from TensorFlow's definition of "same"
// (ceil(H / stride) outputs, the odd padding row after the image).
#define BOOST_TEST_MODULE sdk_window
#include <boost/test/unit_test.hpp>
#include <string>

#include "plexus/plexus.hpp"
#include "plexus/support/window.hpp"
#include "plexus/testing.hpp"

namespace sw = plexus::support;

namespace {

std::string param_error(const std::string& text, bool padding) {
    try {
        if (padding)
            sw::parse_padding(text, "conv2d");
        else
            sw::parse_size2d(text, "conv2d", "kernel");
    } catch (const plexus::ParamError& e) {
        return e.what();
    }
    return "(no error)";
}

sw::WindowSpec spec(std::size_t k, std::size_t s, std::size_t d, const std::string& padding) {
    return {{k, k}, {s, s}, {d, d}, sw::parse_padding(padding, "test")};
}

std::string shape_error(const plexus::Shape& input, const sw::WindowSpec& s) {
    try {
        sw::make_window(input, s, "conv2d");
    } catch (const plexus::ShapeError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

BOOST_AUTO_TEST_CASE(sizes_are_n_or_h_x_w) {
    const sw::Size2d three = sw::parse_size2d("3", "conv2d", "kernel");
    BOOST_TEST(three.h == 3u);
    BOOST_TEST(three.w == 3u);
    const sw::Size2d tall = sw::parse_size2d("2x1", "conv2d", "stride");
    BOOST_TEST(tall.h == 2u);
    BOOST_TEST(tall.w == 1u);
    BOOST_TEST(param_error("3y5", false) ==
               "conv2d: kernel '3y5' must be a positive integer N (NxN) or HxW (e.g. kernel=3 "
               "or kernel=3x5)");
    for (const char* bad : {"", "0", "3x0", "x3", "3x", "-3", "3x5x7", "3.5", " 3", "16777217"})
        BOOST_TEST(param_error(bad, false) != "(no error)", "'" << bad << "' accepted");
}

BOOST_AUTO_TEST_CASE(padding_is_valid_same_or_a_count) {
    BOOST_TEST((sw::parse_padding("valid", "x").mode == sw::Padding::Mode::valid));
    BOOST_TEST((sw::parse_padding("same", "x").mode == sw::Padding::Mode::same));
    const sw::Padding two = sw::parse_padding("2", "x");
    BOOST_TEST((two.mode == sw::Padding::Mode::explicit_));
    BOOST_TEST(two.amount == 2u);
    BOOST_TEST(two.str() == "2");
    BOOST_TEST((sw::parse_padding("0", "x").mode == sw::Padding::Mode::explicit_));
    BOOST_TEST(param_error("full", true) ==
               "conv2d: padding 'full' must be valid, same or a number N >= 0 of zero rows and "
               "columns on every side (e.g. padding=same or padding=1)");
    for (const char* bad : {"", "-1", "Same", "1x1", "2.0"})
        BOOST_TEST(param_error(bad, true) != "(no error)", "'" << bad << "' accepted");
}

BOOST_AUTO_TEST_CASE(same_padding_splits_as_tensorflow) {
    struct Case {
        std::size_t in, k, s, d;
        std::size_t out, pad_before;  // by hand: total = max((out-1)*s + (k-1)*d + 1 - in, 0)
    };
    const Case cases[] = {
        {28, 3, 1, 1, 28, 1},  // total 2: one on each side
        {28, 2, 2, 1, 14, 0},  // total 0
        {7, 2, 2, 1, 4, 0},    // total 1: the odd one after
        {6, 3, 2, 1, 3, 0},    // total 1
        {5, 3, 2, 1, 3, 1},    // total 2
        {5, 4, 1, 1, 5, 1},    // total 3: one before, two after
        {7, 3, 1, 2, 7, 2},    // dilated span 5: total 4
        {3, 5, 1, 1, 3, 2},    // a kernel larger than the input fits with same padding
        {1, 3, 3, 1, 1, 1},    // total 2
    };
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT("in " << c.in << " k " << c.k << " s " << c.s << " d " << c.d) {
            const plexus::Window2d w =
                sw::make_window({4, 2, c.in, c.in}, spec(c.k, c.s, c.d, "same"), "test");
            BOOST_TEST(w.out_h == c.out);
            BOOST_TEST(w.out_w == c.out);
            BOOST_TEST(w.pad_top == c.pad_before);
            BOOST_TEST(w.pad_left == c.pad_before);
        }
    }
}

BOOST_AUTO_TEST_CASE(valid_and_explicit_padding_and_the_input_layouts) {
    plexus::Window2d w = sw::make_window({8, 3, 28, 26}, spec(5, 1, 1, "valid"), "test");
    BOOST_TEST(w.batch == 8u);
    BOOST_TEST(w.channels == 3u);
    BOOST_TEST(w.height == 28u);
    BOOST_TEST(w.width == 26u);
    BOOST_TEST(w.out_h == 24u);
    BOOST_TEST(w.out_w == 22u);
    BOOST_TEST(w.pad_top == 0u);
    BOOST_TEST(w.patch() == 75u);

    // [N, H, W] is one channel; 2x1 strides; padding 1 on every side: (7 + 2 - 3) / 2 + 1 = 4
    // rows and (6 + 2 - 3) / 1 + 1 = 6 columns.
    w = sw::make_window({8, 7, 6}, {{3, 3}, {2, 1}, {1, 1}, sw::parse_padding("1", "test")},
                        "test");
    BOOST_TEST(w.channels == 1u);
    BOOST_TEST(w.out_h == 4u);
    BOOST_TEST(w.out_w == 6u);
    BOOST_TEST(w.pad_top == 1u);
    BOOST_TEST(w.pad_left == 1u);
    BOOST_TEST(sw::with_batch(w, 3).batch == 3u);

    w = sw::make_window({1, 1, 9, 9}, spec(3, 1, 3, "valid"), "test");  // span 7
    BOOST_TEST(w.out_h == 3u);
}

BOOST_AUTO_TEST_CASE(what_does_not_fit_is_named_with_both_shapes) {
    BOOST_TEST(shape_error({8, 1, 3, 3}, spec(5, 1, 1, "valid")) ==
               "conv2d: a 5x5 kernel (valid padding) does not fit a 3x3 input [1, 3, 3]; use a "
               "smaller kernel or dilation, or padding=same");
    BOOST_TEST(shape_error({8, 2, 4}, {{2, 5}, {1, 1}, {1, 1}, {}}) ==
               "conv2d: a 2x5 kernel (valid padding) does not fit a 2x4 input [2, 4]; use a "
               "smaller kernel or dilation, or padding=same");
    BOOST_TEST(shape_error({8, 1, 2, 2}, spec(3, 1, 2, "1")) ==
               "conv2d: a 3x3 kernel dilated 2x2 (spanning 5x5) (padding 1) does not fit a 2x2 "
               "input [1, 2, 2]; use a smaller kernel or dilation, or padding=same");
    BOOST_TEST(shape_error({8, 1, 4, 4}, spec(2, 1, 1, "2")) ==
               "conv2d: padding 2 must be smaller than the kernel's span 2x2 (a 2x2 kernel); use "
               "a smaller padding or padding=same");
    // Dilation 3 with same padding on a 2-row input: the first window's taps (rows 0 and 3,
    // less one row of padding) are -1 and 2, both outside.
    BOOST_TEST(shape_error({8, 1, 2, 2}, {{2, 2}, {1, 1}, {3, 3}, sw::parse_padding("same", "t")})
                   .find("does not fit a 2x2 input") != std::string::npos);
    BOOST_TEST(shape_error({8, 784}, spec(3, 1, 1, "valid")) ==
               "conv2d: expected images [batch, C, H, W] or [batch, H, W], got [8, 784]; to read "
               "784 features as an image, put 'layer = reshape shape=1x28x28' before it");
    BOOST_TEST(shape_error({8, 2, 3, 4, 5}, spec(3, 1, 1, "valid")) ==
               "conv2d: expected images [batch, C, H, W] or [batch, H, W], got [8, 2, 3, 4, 5]");
    BOOST_TEST(shape_error({8, 0, 5, 5}, spec(3, 1, 1, "valid")) ==
               "conv2d: an empty input [8, 0, 5, 5]");
}

BOOST_AUTO_TEST_CASE(every_window_it_makes_passes_the_device_check) {
    auto device = plexus::testing::load<plexus::Device>("cpu");
    for (std::size_t in : {1, 2, 5, 8})
        for (std::size_t k : {1, 2, 3, 5})
            for (std::size_t s : {1, 2, 3})
                for (std::size_t d : {1, 2})
                    for (const char* p : {"valid", "same", "0", "1", "2"}) {
                        BOOST_TEST_CONTEXT("in " << in << " k " << k << " s " << s << " d " << d
                                                 << " padding " << p) {
                            plexus::Window2d w;
                            try {
                                w = sw::make_window({2, 3, in, in}, spec(k, s, d, p), "test");
                            } catch (const plexus::ShapeError&) {
                                continue;  // refused here, so never reaches the device
                            }
                            BOOST_CHECK_NO_THROW(device->check_window(w, "test"));
                        }
                    }
}
