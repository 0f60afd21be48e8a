// The CPU device's window ops (im2col, col2im, pool2d, pool2d_backward, transpose) on small
// cases worked out by hand, and the base class's refusals of bad geometry and operands.
// test_cpu_window_random.cpp checks the same ops on many geometries against a naive
// reference written in the test.
#include "test_cpu_support.hpp"

using namespace cpu_test;
using plexus::PoolOp;
using plexus::Window2d;

namespace {

// A window over one [1, 1, h, w] plane.
Window2d plane(std::size_t h, std::size_t w, std::size_t kh, std::size_t kw, std::size_t stride,
               std::size_t pad_top, std::size_t pad_left, std::size_t out_h, std::size_t out_w) {
    Window2d g;
    g.height = h, g.width = w, g.kernel_h = kh, g.kernel_w = kw;
    g.stride_h = g.stride_w = stride;
    g.pad_top = pad_top, g.pad_left = pad_left, g.out_h = out_h, g.out_w = out_w;
    return g;
}

Floats iota(std::size_t n, float first) {
    Floats v(n);
    std::iota(v.begin(), v.end(), first);
    return v;
}

// True when `f` throws a DeviceError whose message holds every part.
template <class F>
bool refused(F f, std::initializer_list<const char*> parts) {
    try {
        f();
    } catch (const DeviceError& e) {
        for (const char* p : parts)
            if (!message_contains(e, p)) {
                BOOST_TEST_MESSAGE("message lacks '" << p << "': " << e.what());
                return false;
            }
        return true;
    }
    return false;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(cpu_window, Cpu)

// x = [[1,2,3],[4,5,6],[7,8,9]], 2x2 kernel, stride 1: one row per output position, the
// window read row by row.
BOOST_AUTO_TEST_CASE(im2col_by_hand) {
    const Tensor x = make({1, 1, 3, 3}, iota(9, 1));
    const Tensor col = make({4, 4}, Floats(16, kNaN));
    dev->im2col(x, col, plane(3, 3, 2, 2, 1, 0, 0, 2, 2));
    check_close(host(col), {1, 2, 4, 5,  //
                            2, 3, 5, 6,  //
                            4, 5, 7, 8,  //
                            5, 6, 8, 9});
    // Padding one row above and one column left (nothing after): zeros where the window hangs
    // over the edge.
    const Tensor padded = make({9, 4}, Floats(36, kNaN));
    dev->im2col(x, padded, plane(3, 3, 2, 2, 1, 1, 1, 3, 3));
    check_close(host(padded), {0, 0, 0, 1, 0, 0, 1, 2, 0, 0, 2, 3,  //
                               0, 1, 0, 4, 1, 2, 4, 5, 2, 3, 5, 6,  //
                               0, 4, 0, 7, 4, 5, 7, 8, 5, 6, 8, 9});
    // Two channels, stride 2 on a 1x5 row with a 1x3 kernel: channel-major within a row.
    Window2d g = plane(1, 5, 1, 3, 2, 0, 0, 1, 2);
    g.channels = 2;
    const Tensor x2 = make({1, 2, 1, 5}, iota(10, 1));
    const Tensor col2 = make({2, 6}, Floats(12, kNaN));
    dev->im2col(x2, col2, g);
    check_close(host(col2), {1, 2, 3, 6, 7, 8,  //
                             3, 4, 5, 8, 9, 10});
    // Dilation 2 on 1x5: taps 0, 2, 4.
    Window2d d = plane(1, 5, 1, 3, 1, 0, 0, 1, 1);
    d.dilation_w = 2;
    const Tensor col3 = make({1, 3}, Floats(3, kNaN));
    dev->im2col(make({1, 1, 1, 5}, {5, 6, 7, 8, 9}), col3, d);
    check_close(host(col3), {5, 7, 9});
}

// col2im of all ones counts the windows that read each pixel. 3x3 kernel, padding 1 on 4x4:
// rows 0 and 3 are read by 2 window rows, rows 1 and 2 by 3, so the count is the outer
// product of [2,3,3,2] with itself.
BOOST_AUTO_TEST_CASE(col2im_of_ones_counts_covering_windows) {
    const Tensor ones = make({16, 9}, Floats(144, 1.0f));
    const Tensor x = make({1, 1, 4, 4}, Floats(16, kNaN));
    dev->col2im(ones, x, plane(4, 4, 3, 3, 1, 1, 1, 4, 4));
    check_close(host(x), {4, 6, 6, 4, 6, 9, 9, 6, 6, 9, 9, 6, 4, 6, 6, 4});
    // 2x2 kernel, stride 1, no padding on 3x3: corners once, edges twice, the centre 4 times.
    const Tensor x3 = make({1, 1, 3, 3}, Floats(9, kNaN));
    dev->col2im(make({4, 4}, Floats(16, 1.0f)), x3, plane(3, 3, 2, 2, 1, 0, 0, 2, 2));
    check_close(host(x3), {1, 2, 1, 2, 4, 2, 1, 2, 1});
    // Stride 3 with a 2x2 kernel on 5x5 skips row and column 2: those stay 0.
    const Tensor x5 = make({1, 1, 5, 5}, Floats(25, kNaN));
    dev->col2im(make({4, 4}, Floats(16, 1.0f)), x5, plane(5, 5, 2, 2, 3, 0, 0, 2, 2));
    check_close(host(x5), {1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0,  //
                           1, 1, 0, 1, 1, 1, 1, 0, 1, 1});
}

// 2x2 windows, stride 2. Window (0,0) holds 1,3,3,0: the max 3 first appears at in-plane
// index 1. (0,1) is all 2 but one 1: index 2. (1,0) is all negative: -5 at index 8, not a 0.
// (1,1) ties 4 at indices 10 and 15: the first, 10.
BOOST_AUTO_TEST_CASE(max_pool_ties_take_the_first_in_window_order) {
    const Tensor x = make({1, 1, 4, 4}, {1, 3, 2, 2,    //
                                         3, 0, 2, 1,    //
                                         -5, -7, 4, 0,  //
                                         -6, -5, 0, 4});
    const Tensor y = make({1, 1, 2, 2}, Floats(4, kNaN));
    const Tensor argmax = make({1, 1, 2, 2}, Floats(4, kNaN));
    const Window2d g = plane(4, 4, 2, 2, 2, 0, 0, 2, 2);
    dev->pool2d(PoolOp::max, x, y, argmax, g);
    check_close(host(y), {3, 2, -5, 4});
    check_close(host(argmax), {1, 2, 8, 10});
    // Without argmax the values are the same.
    const Tensor y2 = make({1, 1, 2, 2}, Floats(4, kNaN));
    dev->pool2d(PoolOp::max, x, y2, Tensor{}, g);
    check_close(host(y2), {3, 2, -5, 4});
    // The gradient goes to the argmax only.
    const Tensor dx = make({1, 1, 4, 4}, Floats(16, kNaN));
    dev->pool2d_backward(PoolOp::max, make({1, 1, 2, 2}, {10, 20, 30, 40}), argmax, dx, g);
    check_close(host(dx), {0, 10, 20, 0, 0, 0, 0, 0, 30, 0, 40, 0, 0, 0, 0, 0});
}

// Padding never wins a max: all-negative 3x3, 2x2 windows with stride 2 and "same" padding
// (one row below, one column right). The last window holds only x[2][2] = -1.
BOOST_AUTO_TEST_CASE(max_pool_padding_never_wins) {
    const Tensor x = make({1, 1, 3, 3}, iota(9, -9));  // -9 .. -1
    const Tensor y = make({1, 1, 2, 2}, Floats(4, kNaN));
    const Tensor argmax = make({1, 1, 2, 2}, Floats(4, kNaN));
    dev->pool2d(PoolOp::max, x, y, argmax, plane(3, 3, 2, 2, 2, 0, 0, 2, 2));
    check_close(host(y), {-5, -4, -2, -1});
    check_close(host(argmax), {4, 5, 7, 8});
}

// Overlapping max windows (1x2, stride 1) that share their argmax add their gradients.
BOOST_AUTO_TEST_CASE(max_pool_backward_adds_overlapping_windows) {
    const Window2d g = plane(1, 3, 1, 2, 1, 0, 0, 1, 2);
    const Tensor argmax = make({1, 1, 1, 2}, Floats(2, kNaN));
    const Tensor y = dev->alloc({1, 1, 1, 2});
    dev->pool2d(PoolOp::max, make({1, 1, 1, 3}, {1, 5, 2}), y, argmax, g);
    check_close(host(argmax), {1, 1});
    const Tensor dx = make({1, 1, 1, 3}, Floats(3, kNaN));
    dev->pool2d_backward(PoolOp::max, make({1, 1, 1, 2}, {1, 2}), argmax, dx, g);
    check_close(host(dx), {0, 3, 0});
}

// Average pooling with a 3x3 window, stride 1 and "same" padding on [[1,2,3],[4,5,6],[7,8,9]]
// divides by the in-bounds count: corner (0,0) = (1+2+4+5)/4 = 3, edge (0,1) = 21/6 = 3.5,
// centre 45/9 = 5, and so on.
BOOST_AUTO_TEST_CASE(avg_pool_divides_by_the_in_bounds_count) {
    const Window2d g = plane(3, 3, 3, 3, 1, 1, 1, 3, 3);
    const Tensor y = make({1, 1, 3, 3}, Floats(9, kNaN));
    dev->pool2d(PoolOp::avg, make({1, 1, 3, 3}, iota(9, 1)), y, Tensor{}, g);
    check_close(host(y), {3, 3.5f, 4, 4.5f, 5, 5.5f, 6, 6.5f, 7});
    // Backward of dy = 1: corner windows hold 4 pixels, edge windows 6, the centre one 9.
    // Pixel (0,0) is in one corner, two edge and the centre window: 1/4 + 2/6 + 1/9 = 25/36;
    // pixel (0,1) in two corner, three edge and the centre window: 2/4 + 3/6 + 1/9 = 10/9;
    // the centre pixel in all nine: 4/4 + 4/6 + 1/9 = 16/9. The total is 9, the sum of dy.
    const Tensor dx = make({1, 1, 3, 3}, Floats(9, kNaN));
    dev->pool2d_backward(PoolOp::avg, make({1, 1, 3, 3}, Floats(9, 1.0f)), Tensor{}, dx, g);
    const float corner = 25.0f / 36, edge = 10.0f / 9, centre = 16.0f / 9;
    check_close(host(dx), {corner, edge, corner, edge, centre, edge, corner, edge, corner});
    // TensorFlow's asymmetric "same" for a 2x2 window on 3x3: the extra row and column go
    // after the input, so the last row of windows averages 2 or 1 values.
    const Tensor y2 = make({1, 1, 3, 3}, Floats(9, kNaN));
    dev->pool2d(PoolOp::avg, make({1, 1, 3, 3}, iota(9, 1)), y2, Tensor{},
                plane(3, 3, 2, 2, 1, 0, 0, 3, 3));
    check_close(host(y2), {3, 4, 4.5f, 6, 7, 7.5f, 7.5f, 8.5f, 9});
}

// [2, 2, 3] -> [2, 3, 2]: each of the two 2x3 matrices transposed on its own.
BOOST_AUTO_TEST_CASE(transpose_by_hand) {
    const Tensor y = make({2, 3, 2}, Floats(12, kNaN));
    dev->transpose(make({2, 2, 3}, iota(12, 1)), y, 2, 2, 3);
    check_close(host(y), {1, 4, 2, 5, 3, 6, 7, 10, 8, 11, 9, 12});
    // A single row or column is a copy.
    const Tensor r = make({5}, Floats(5, kNaN));
    dev->transpose(make({5}, iota(5, 1)), r, 1, 1, 5);
    check_close(host(r), {1, 2, 3, 4, 5});
}

BOOST_AUTO_TEST_CASE(bad_geometry_is_refused_naming_the_op) {
    const Tensor x = make({1, 1, 3, 3}, iota(9, 1)), col = dev->alloc({9, 4});
    // Taps at rows -1 and 2 of a 1-row input: the only window lies in the padding.
    Window2d pad_only = plane(1, 3, 2, 1, 1, 1, 0, 1, 3);
    pad_only.dilation_h = 3;
    BOOST_TEST(refused(
        [&] {
            dev->im2col(make({1, 1, 1, 3}, {1, 2, 3}), dev->alloc({3, 2}), pad_only);
        },
        {"cpu: im2col:", "wholly in the padding"}));
    BOOST_TEST(refused(
        [&] {
            dev->pool2d(PoolOp::max, make({1, 1, 1, 3}, {1, 2, 3}), dev->alloc({3}), Tensor{},
                        pad_only);
        },
        {"cpu: pool2d:", "wholly in the padding"}));
    // Windows past the end: out 4x4 from a 2x2 kernel on 3x3 without padding.
    BOOST_TEST(refused(
        [&] {
            dev->col2im(dev->alloc({16, 4}), x, plane(3, 3, 2, 2, 1, 0, 0, 4, 4));
        },
        {"cpu: col2im:", "padding"}));
    BOOST_TEST(refused([&] { dev->im2col(x, col, plane(3, 3, 2, 2, 1, 2, 0, 3, 3)); },
                       {"cpu: im2col:", "smaller than the dilated kernel"}));
    BOOST_TEST(refused([&] { dev->im2col(x, col, plane(3, 3, 0, 2, 1, 0, 0, 3, 3)); },
                       {"cpu: im2col:", "at least 1"}));
    BOOST_TEST(refused(
        [&] {
            dev->pool2d_backward(PoolOp::avg, dev->alloc({4}), Tensor{}, dev->alloc({9}),
                                 plane(3, 3, 2, 2, 0, 0, 0, 2, 2));
        },
        {"cpu: pool2d_backward:", "at least 1"}));
    BOOST_TEST(refused(
        [&] {
            dev->pool2d(static_cast<PoolOp>(7), x, dev->alloc({4}), Tensor{},
                        plane(3, 3, 2, 2, 1, 0, 0, 2, 2));
        },
        {"cpu: pool2d:", "unknown pooling op"}));
}

BOOST_AUTO_TEST_CASE(wrong_element_counts_are_refused_naming_the_operand) {
    const Window2d g = plane(3, 3, 2, 2, 1, 0, 0, 2, 2);
    const Tensor x = make({1, 1, 3, 3}, iota(9, 1));
    BOOST_TEST(refused(
        [&] {
            dev->im2col(x, dev->alloc({4, 3}), g);
        },
        {"cpu: im2col:", "'col'", "12 elements", "16 elements are required"}));
    BOOST_TEST(refused(
        [&] {
            dev->im2col(dev->alloc({8}), dev->alloc({4, 4}), g);
        },
        {"cpu: im2col:", "'x'", "9 elements are required"}));
    BOOST_TEST(refused(
        [&] {
            dev->col2im(dev->alloc({4, 4}), dev->alloc({10}), g);
        },
        {"cpu: col2im:", "'x'"}));
    BOOST_TEST(refused([&] { dev->pool2d(PoolOp::max, x, dev->alloc({4}), dev->alloc({3}), g); },
                       {"cpu: pool2d:", "'argmax'"}));
    BOOST_TEST(refused([&] { dev->pool2d(PoolOp::max, x, dev->alloc({5}), Tensor{}, g); },
                       {"cpu: pool2d:", "'y'"}));
    BOOST_TEST(refused(
        [&] { dev->pool2d_backward(PoolOp::max, dev->alloc({4}), Tensor{}, dev->alloc({9}), g); },
        {"cpu: pool2d_backward:", "'argmax'"}));
    BOOST_TEST(refused(
        [&] { dev->pool2d_backward(PoolOp::avg, dev->alloc({4}), Tensor{}, dev->alloc({8}), g); },
        {"cpu: pool2d_backward:", "'dx'"}));
    BOOST_TEST(refused([&] { dev->transpose(dev->alloc({6}), dev->alloc({5}), 1, 2, 3); },
                       {"cpu: transpose:", "'y'"}));
    // A tensor of another device.
    auto other = load_cpu();
    BOOST_TEST(refused([&] { dev->transpose(other->alloc({6}), dev->alloc({6}), 1, 2, 3); },
                       {"cpu: transpose:", "another device"}));
}

// An argmax that pool2d cannot have written (outside the plane, negative, NaN) is refused
// rather than used as an address.
BOOST_AUTO_TEST_CASE(max_pool_backward_refuses_an_argmax_outside_the_plane) {
    const Window2d g = plane(4, 4, 2, 2, 2, 0, 0, 2, 2);
    for (float bad : {16.0f, -1.0f, kNaN, 1e30f}) {
        BOOST_TEST_CONTEXT("argmax " << bad) {
            const Tensor argmax = make({1, 1, 2, 2}, {1, 2, bad, 10});
            BOOST_TEST(refused(
                [&] {
                    dev->pool2d_backward(PoolOp::max, make({1, 1, 2, 2}, {1, 2, 3, 4}), argmax,
                                         dev->alloc({1, 1, 4, 4}), g);
                },
                {"cpu: pool2d_backward:", "'argmax'", "below 16"}));
        }
    }
}

BOOST_AUTO_TEST_CASE(overlapping_operands_are_refused) {
    const Window2d g = plane(3, 3, 2, 2, 1, 0, 0, 2, 2);
    const Tensor buf = dev->alloc({40});
    const Tensor x = buf.rows(0, 9), col = buf.rows(8, 16);  // share element 8
    BOOST_TEST(refused([&] { dev->im2col(x, col, g); }, {"cpu: im2col:", "overlaps"}));
    BOOST_TEST(refused([&] { dev->col2im(col, x, g); }, {"cpu: col2im:", "overlaps"}));
    BOOST_TEST(refused([&] { dev->pool2d(PoolOp::max, x, buf.rows(5, 4), Tensor{}, g); },
                       {"cpu: pool2d:", "y overlaps x"}));
    BOOST_TEST(refused([&] { dev->pool2d(PoolOp::max, x, buf.rows(9, 4), buf.rows(12, 4), g); },
                       {"cpu: pool2d:", "argmax overlaps"}));
    BOOST_TEST(refused([&] { dev->pool2d_backward(PoolOp::avg, buf.rows(8, 4), Tensor{}, x, g); },
                       {"cpu: pool2d_backward:", "dx overlaps dy"}));
    BOOST_TEST(refused([&] { dev->transpose(buf.rows(0, 6), buf.rows(3, 6), 1, 2, 3); },
                       {"cpu: transpose:", "y overlaps x"}));
    // Adjacent views of one buffer are fine.
    const Tensor y = buf.rows(9, 16);
    dev->upload(x, iota(9, 1));
    dev->im2col(x, y, g);
    check_close(host(y), {1, 2, 4, 5, 2, 3, 5, 6, 4, 5, 7, 8, 5, 6, 8, 9});
}

BOOST_AUTO_TEST_SUITE_END()
