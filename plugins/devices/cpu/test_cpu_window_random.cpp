// The CPU device's window ops on random data over many geometries, against naive loops
// written here from the definitions in plexus/device.hpp (not from the device's code): a
// convolution as im2col + GEMM equals the direct six-loop sum, col2im is im2col's adjoint,
// pooling equals direct loops over each window. Each check runs on a one-thread baseline
// device and on a three-thread device (the helper threads split large ops), and on views
// with an offset so no alignment is assumed.
#include <cmath>
#include <random>

#include "test_cpu_support.hpp"

using namespace cpu_test;
using plexus::PoolOp;
using plexus::Window2d;

namespace {

// TensorFlow's "same": out = ceil(in / stride), the padding split with the extra row after.
// `same = false` is "valid": no padding.
Window2d geometry(std::size_t n, std::size_t c, std::size_t h, std::size_t w, std::size_t kh,
                  std::size_t kw, std::size_t sh, std::size_t sw, std::size_t dh, std::size_t dw,
                  bool same) {
    Window2d g{n, c, h, w, kh, kw, sh, sw, dh, dw, 0, 0, 1, 1};
    const auto axis = [same](std::size_t in, std::size_t k, std::size_t s, std::size_t d,
                             std::size_t& pad, std::size_t& out) {
        const std::size_t span = d * (k - 1) + 1;
        out = same ? (in + s - 1) / s : (in - span) / s + 1;
        const std::size_t needed = (out - 1) * s + span;
        pad = same && needed > in ? (needed - in) / 2 : 0;
    };
    axis(h, kh, sh, dh, g.pad_top, g.out_h);
    axis(w, kw, sw, dw, g.pad_left, g.out_w);
    return g;
}

std::string describe(const Window2d& g) {
    return "N" + std::to_string(g.batch) + " C" + std::to_string(g.channels) + " " +
           std::to_string(g.height) + "x" + std::to_string(g.width) + " k" +
           std::to_string(g.kernel_h) + "x" + std::to_string(g.kernel_w) + " s" +
           std::to_string(g.stride_h) + "x" + std::to_string(g.stride_w) + " d" +
           std::to_string(g.dilation_h) + "x" + std::to_string(g.dilation_w) + " pad" +
           std::to_string(g.pad_top) + "," + std::to_string(g.pad_left) + " out" +
           std::to_string(g.out_h) + "x" + std::to_string(g.out_w);
}

// Geometries for convolutions: odd sizes, strides, asymmetric padding, dilation, one sample,
// one channel, C not a multiple of 4, 1x1 and 3x5 kernels, 1-D rows, and the two convolutions
// of the reference CNN at a batch large enough to be split between threads.
std::vector<Window2d> conv_geometries() {
    return {
        geometry(2, 3, 7, 9, 3, 3, 1, 1, 1, 1, true),
        geometry(3, 2, 9, 8, 3, 3, 2, 2, 1, 1, true),    // pad 1,0: the extra column after
        geometry(2, 5, 6, 7, 4, 4, 1, 1, 1, 1, true),    // even kernel: pad 1 before, 2 after
        geometry(2, 5, 10, 11, 3, 3, 1, 1, 2, 2, true),  // dilation 2, pad 2
        geometry(1, 3, 9, 9, 3, 3, 2, 1, 2, 1, false),   // dilation and stride on one axis
        geometry(1, 1, 5, 5, 3, 3, 1, 1, 1, 1, false),
        geometry(2, 6, 4, 5, 1, 1, 1, 1, 1, 1, false),  // 1x1
        geometry(2, 7, 5, 7, 1, 1, 2, 2, 1, 1, false),  // 1x1 stride 2
        geometry(2, 3, 8, 13, 3, 5, 1, 1, 1, 1, true),  // 3x5, pad 1,2
        geometry(2, 2, 8, 13, 3, 5, 2, 3, 1, 1, true),
        geometry(3, 2, 1, 17, 1, 3, 1, 1, 1, 1, true),    // a 1-D row
        geometry(2, 3, 11, 10, 2, 2, 3, 3, 1, 1, false),  // stride above the kernel
        geometry(2, 2, 3, 4, 5, 5, 1, 1, 1, 1, true),     // kernel wider than the input
        geometry(8, 1, 28, 28, 3, 3, 1, 1, 1, 1, true),   // the CNN's first convolution
        geometry(6, 32, 14, 14, 3, 3, 1, 1, 1, 1, true),  // and its second
    };
}

// Geometries for pooling: the common 2x2 stride 2 on even and odd planes, overlapping and
// padded windows, dilation, 1x1.
std::vector<Window2d> pool_geometries() {
    return {
        geometry(8, 32, 28, 28, 2, 2, 2, 2, 1, 1, false),
        geometry(4, 16, 14, 14, 2, 2, 2, 2, 1, 1, false),
        geometry(2, 3, 7, 9, 2, 2, 2, 2, 1, 1, false),  // odd: the last row and column unread
        geometry(2, 3, 7, 9, 2, 2, 2, 2, 1, 1, true),   // odd with padding after
        geometry(2, 5, 9, 8, 3, 3, 2, 2, 1, 1, true),
        geometry(1, 1, 7, 7, 3, 3, 1, 1, 1, 1, true),
        geometry(2, 3, 9, 10, 3, 3, 1, 1, 2, 2, true),
        geometry(2, 3, 6, 11, 3, 5, 2, 3, 1, 1, true),
        geometry(2, 3, 4, 5, 1, 1, 1, 1, 1, 1, false),
        geometry(2, 3, 9, 9, 2, 3, 3, 2, 1, 1, false),
    };
}

// The input position of tap (o, k) along one axis, or -1 in the padding.
long tap(std::size_t o, std::size_t k, std::size_t stride, std::size_t dilation, std::size_t pad,
         std::size_t in) {
    const long at = static_cast<long>(o * stride + k * dilation) - static_cast<long>(pad);
    return at >= 0 && at < static_cast<long>(in) ? at : -1;
}

// Runs body(n, c, oh, ow, i, j, input index or -1, output index, patch index) over every tap.
template <class F>
void each_tap(const Window2d& g, F body) {
    for (std::size_t n = 0; n < g.batch; ++n)
        for (std::size_t c = 0; c < g.channels; ++c)
            for (std::size_t oh = 0; oh < g.out_h; ++oh)
                for (std::size_t ow = 0; ow < g.out_w; ++ow)
                    for (std::size_t i = 0; i < g.kernel_h; ++i)
                        for (std::size_t j = 0; j < g.kernel_w; ++j) {
                            const long h =
                                tap(oh, i, g.stride_h, g.dilation_h, g.pad_top, g.height);
                            const long w =
                                tap(ow, j, g.stride_w, g.dilation_w, g.pad_left, g.width);
                            const long at =
                                h < 0 || w < 0
                                    ? -1
                                    : static_cast<long>(((n * g.channels + c) * g.height +
                                                         static_cast<std::size_t>(h)) *
                                                            g.width +
                                                        static_cast<std::size_t>(w));
                            body(n, c, oh, ow, i, j, at);
                        }
}

Floats random_floats(std::size_t n, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
    std::uniform_real_distribution<float> d(lo, hi);
    Floats v(n);
    for (float& x : v) x = d(rng);
    return v;
}

// Values in {-2, ..., 2}: many ties for max pooling.
Floats small_integers(std::size_t n, std::mt19937& rng) {
    std::uniform_int_distribution<int> d(-2, 2);
    Floats v(n);
    for (float& x : v) x = static_cast<float>(d(rng));
    return v;
}

// A tensor of `values` at a non-zero offset in a larger buffer, and the output tensors of the
// ops filled with NaN so an element the op fails to write shows.
Tensor view_of(Device& d, const Floats& values) {
    Floats padded(values.size() + 3, kNaN);
    std::copy(values.begin(), values.end(), padded.begin() + 3);
    return upload_to(d, {padded.size()}, padded).rows(3, values.size());
}
Tensor garbage(Device& d, std::size_t n) {
    return view_of(d, Floats(n, kNaN));
}

std::vector<std::shared_ptr<Device>> devices() {
    return {load_cpu("cpu threads=1 isa=baseline"), load_cpu("cpu threads=3")};
}

void check_exact(const Floats& got, const Floats& want, const std::string& what) {
    BOOST_TEST_REQUIRE(got.size() == want.size());
    std::size_t bad = 0;
    for (std::size_t i = 0; i < got.size(); ++i)
        if (!(got[i] == want[i]) && bad++ < 5)
            BOOST_TEST(false,
                       what << " element " << i << ": got " << got[i] << ", want " << want[i]);
    BOOST_TEST(bad == 0u, what << ": " << bad << " elements differ");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cpu_window_random)

// im2col copies exactly; im2col + GEMM with an OIHW kernel is the direct convolution.
BOOST_AUTO_TEST_CASE(convolution_by_im2col_and_gemm_is_the_direct_sum) {
    std::mt19937 rng(14);
    for (const auto& dev : devices())
        for (const Window2d& g : conv_geometries()) {
            BOOST_TEST_CONTEXT(dev->description() << ", " << describe(g)) {
                const std::size_t filters = 5, rows = g.batch * g.out_plane();
                const Floats x = random_floats(g.batch * g.channels * g.in_plane(), rng);
                const Floats kernel = random_floats(filters * g.patch(), rng);
                Floats col_want(rows * g.patch(), 0.0f);
                std::vector<double> conv(rows * filters, 0.0);
                each_tap(g, [&](std::size_t n, std::size_t c, std::size_t oh, std::size_t ow,
                                std::size_t i, std::size_t j, long at) {
                    const std::size_t row = (n * g.out_h + oh) * g.out_w + ow;
                    const std::size_t k = (c * g.kernel_h + i) * g.kernel_w + j;
                    if (at < 0) return;
                    col_want[row * g.patch() + k] = x[static_cast<std::size_t>(at)];
                    for (std::size_t f = 0; f < filters; ++f)
                        conv[row * filters + f] +=
                            double(kernel[f * g.patch() + k]) * x[static_cast<std::size_t>(at)];
                });
                const Tensor col = garbage(*dev, rows * g.patch()).reshaped({rows, g.patch()});
                dev->im2col(view_of(*dev, x), col, g);
                check_exact(plexus::testing::to_host(*dev, col), col_want, "im2col");
                const Tensor k = upload_to(*dev, {filters, g.patch()}, kernel);
                const Tensor y = dev->alloc({rows, filters});
                dev->gemm(Transpose::no, Transpose::yes, 1.0f, col, k, 0.0f, y);
                check_close(plexus::testing::to_host(*dev, y), Floats(conv.begin(), conv.end()),
                            1e-5f);
            }
        }
}

// <im2col(x), c> == <x, col2im(c)> for random x and c, and col2im equals a direct scatter.
BOOST_AUTO_TEST_CASE(col2im_is_the_adjoint_of_im2col) {
    std::mt19937 rng(15);
    for (const auto& dev : devices())
        for (const Window2d& g : conv_geometries()) {
            BOOST_TEST_CONTEXT(dev->description() << ", " << describe(g)) {
                const std::size_t nx = g.batch * g.channels * g.in_plane();
                const std::size_t nc = g.batch * g.out_plane() * g.patch();
                const Floats x = random_floats(nx, rng), c = random_floats(nc, rng);
                const Tensor col = garbage(*dev, nc), back = garbage(*dev, nx);
                dev->im2col(view_of(*dev, x), col, g);
                dev->col2im(view_of(*dev, c), back, g);
                const Floats col_x = plexus::testing::to_host(*dev, col);
                const Floats back_c = plexus::testing::to_host(*dev, back);
                double lhs = 0, rhs = 0, scale = 0;
                for (std::size_t i = 0; i < nc; ++i)
                    lhs += double(col_x[i]) * c[i], scale += std::fabs(col_x[i] * c[i]);
                for (std::size_t i = 0; i < nx; ++i) rhs += double(x[i]) * back_c[i];
                BOOST_TEST(std::fabs(lhs - rhs) <= 1e-5 * scale,
                           "<im2col(x), c> = " << lhs << ", <x, col2im(c)> = " << rhs);
                std::vector<double> scatter(nx, 0.0);
                std::size_t e = 0;
                each_tap(g, [&](std::size_t n, std::size_t ch, std::size_t oh, std::size_t ow,
                                std::size_t i, std::size_t j, long at) {
                    const std::size_t row = (n * g.out_h + oh) * g.out_w + ow;
                    const std::size_t k = (ch * g.kernel_h + i) * g.kernel_w + j;
                    if (at >= 0) scatter[static_cast<std::size_t>(at)] += c[row * g.patch() + k];
                    ++e;
                });
                BOOST_TEST(e == nc);
                check_close(back_c, Floats(scatter.begin(), scatter.end()), 1e-5f);
            }
        }
}

// Pooling and its gradient against direct loops over each window; max on data with many
// ties, so the first maximum must win everywhere.
BOOST_AUTO_TEST_CASE(pooling_matches_direct_loops) {
    std::mt19937 rng(16);
    for (const auto& dev : devices())
        for (const Window2d& g : pool_geometries())
            for (PoolOp op : {PoolOp::max, PoolOp::avg})
                for (bool ties : {false, true}) {
                    if (ties && op == PoolOp::avg) continue;
                    BOOST_TEST_CONTEXT(dev->description()
                                       << ", " << describe(g) << ", " << plexus::op_name(op)
                                       << (ties ? " ties" : "")) {
                        const std::size_t nx = g.batch * g.channels * g.in_plane();
                        const std::size_t ny = g.batch * g.channels * g.out_plane();
                        const Floats x = ties ? small_integers(nx, rng) : random_floats(nx, rng);
                        const Floats dy = random_floats(ny, rng);
                        // Reference: window taps in window order (each_tap's i, j loops).
                        Floats y_want(ny, 0.0f), arg_want(ny, -1.0f);
                        std::vector<double> sum(ny, 0.0), dx_want(nx, 0.0);
                        std::vector<std::size_t> count(ny, 0);
                        each_tap(g, [&](std::size_t n, std::size_t c, std::size_t oh,
                                        std::size_t ow, std::size_t, std::size_t, long at) {
                            if (at < 0) return;
                            const std::size_t o =
                                ((n * g.channels + c) * g.out_h + oh) * g.out_w + ow;
                            const float v = x[static_cast<std::size_t>(at)];
                            if (count[o]++ == 0 || v > y_want[o])
                                y_want[o] = v, arg_want[o] = float(std::size_t(at) % g.in_plane());
                            sum[o] += v;
                        });
                        each_tap(g, [&](std::size_t n, std::size_t c, std::size_t oh,
                                        std::size_t ow, std::size_t, std::size_t, long at) {
                            const std::size_t o =
                                ((n * g.channels + c) * g.out_h + oh) * g.out_w + ow;
                            if (at < 0) return;
                            const std::size_t plane_start =
                                std::size_t(at) - std::size_t(at) % g.in_plane();
                            if (op == PoolOp::avg)
                                dx_want[std::size_t(at)] += double(dy[o]) / double(count[o]);
                            else if (std::size_t(at) == plane_start + std::size_t(arg_want[o]))
                                dx_want[std::size_t(at)] += dy[o];
                        });
                        if (op == PoolOp::avg)
                            for (std::size_t o = 0; o < ny; ++o)
                                y_want[o] = float(sum[o] / double(count[o]));
                        const Tensor y = garbage(*dev, ny), dx = garbage(*dev, nx);
                        const Tensor argmax = op == PoolOp::max ? garbage(*dev, ny) : Tensor{};
                        dev->pool2d(op, view_of(*dev, x), y, argmax, g);
                        dev->pool2d_backward(op, view_of(*dev, dy), argmax, dx, g);
                        if (op == PoolOp::max) {
                            check_exact(plexus::testing::to_host(*dev, y), y_want, "max");
                            check_exact(plexus::testing::to_host(*dev, argmax), arg_want, "argmax");
                            // Without argmax: the same values.
                            const Tensor y2 = garbage(*dev, ny);
                            dev->pool2d(op, view_of(*dev, x), y2, Tensor{}, g);
                            check_exact(plexus::testing::to_host(*dev, y2), y_want,
                                        "max without argmax");
                        } else {
                            check_close(plexus::testing::to_host(*dev, y), y_want, 1e-6f);
                        }
                        check_close(plexus::testing::to_host(*dev, dx),
                                    Floats(dx_want.begin(), dx_want.end()), 1e-5f);
                    }
                }
}

// Batched transposes of shapes around the tile sizes, against y[b][j][i] = x[b][i][j].
BOOST_AUTO_TEST_CASE(transpose_matches_the_definition) {
    std::mt19937 rng(17);
    const std::size_t shapes[][3] = {{1, 1, 1},    {3, 1, 7},    {2, 7, 1},    {1, 8, 8},
                                     {2, 16, 16},  {3, 17, 33},  {2, 32, 196}, {128, 32, 49},
                                     {4, 196, 64}, {1, 5, 1000}, {1, 1000, 3}};
    for (const auto& dev : devices())
        for (const auto& s : shapes) {
            const std::size_t batch = s[0], rows = s[1], cols = s[2];
            BOOST_TEST_CONTEXT(dev->description()
                               << ", [" << batch << ", " << rows << ", " << cols << "]") {
                const Floats x = random_floats(batch * rows * cols, rng);
                Floats want(x.size());
                for (std::size_t b = 0; b < batch; ++b)
                    for (std::size_t i = 0; i < rows; ++i)
                        for (std::size_t j = 0; j < cols; ++j)
                            want[(b * cols + j) * rows + i] = x[(b * rows + i) * cols + j];
                const Tensor y = garbage(*dev, x.size());
                dev->transpose(view_of(*dev, x), y, batch, rows, cols);
                check_exact(plexus::testing::to_host(*dev, y), want, "transpose");
            }
        }
}

// Transposes of runs, against y[b][j][i][k] = x[b][i][j][k]: short and long runs, and
// conv2d's block permutes of CNN planes, large enough to be split between threads.
BOOST_AUTO_TEST_CASE(transpose_of_runs_matches_the_definition) {
    std::mt19937 rng(23);
    const std::size_t shapes[][4] = {{1, 1, 1, 3},    {2, 3, 5, 2},     {3, 7, 4, 7},
                                     {1, 32, 64, 784}, {1, 64, 32, 196}, {2, 5, 3, 196}};
    for (const auto& dev : devices())
        for (const auto& s : shapes) {
            const std::size_t batch = s[0], rows = s[1], cols = s[2], inner = s[3];
            BOOST_TEST_CONTEXT(dev->description() << ", [" << batch << ", " << rows << ", "
                                                  << cols << ", " << inner << "]") {
                const Floats x = random_floats(batch * rows * cols * inner, rng);
                Floats want(x.size());
                for (std::size_t b = 0; b < batch; ++b)
                    for (std::size_t i = 0; i < rows; ++i)
                        for (std::size_t j = 0; j < cols; ++j)
                            for (std::size_t k = 0; k < inner; ++k)
                                want[((b * cols + j) * rows + i) * inner + k] =
                                    x[((b * rows + i) * cols + j) * inner + k];
                const Tensor y = garbage(*dev, x.size());
                dev->transpose(view_of(*dev, x), y, batch, rows, cols, inner);
                check_exact(plexus::testing::to_host(*dev, y), want, "transpose of runs");
            }
        }
}

// 2x2 stride-2 max pooling (the device's branch-free loop) on values from {NaN, -0, +0, 1}:
// as the window-order loop defines it, a NaN in a window's first tap is its max and argmax,
// a NaN in any later tap is never taken, and -0 and +0 tie (the first wins, sign and all).
BOOST_AUTO_TEST_CASE(pair_max_pooling_keeps_nan_and_signed_zero_order) {
    std::mt19937 rng(29);
    const float pick[] = {kNaN, -0.0f, 0.0f, 1.0f};
    std::uniform_int_distribution<int> which(0, 3);
    for (const auto& dev : devices())
        for (const Window2d& g : {geometry(2, 3, 6, 8, 2, 2, 2, 2, 1, 1, false),
                                  geometry(4, 16, 14, 14, 2, 2, 2, 2, 1, 1, false)}) {
            BOOST_TEST_CONTEXT(dev->description() << ", " << describe(g)) {
                const std::size_t nx = g.batch * g.channels * g.in_plane();
                const std::size_t ny = g.batch * g.channels * g.out_plane();
                Floats x(nx);
                for (float& v : x) v = pick[which(rng)];
                Floats y_want(ny), arg_want(ny);
                std::vector<bool> seen(ny, false);
                each_tap(g, [&](std::size_t n, std::size_t c, std::size_t oh, std::size_t ow,
                                std::size_t, std::size_t, long at) {
                    const std::size_t o = ((n * g.channels + c) * g.out_h + oh) * g.out_w + ow;
                    const float v = x[static_cast<std::size_t>(at)];
                    if (!seen[o] || v > y_want[o])
                        y_want[o] = v, arg_want[o] = float(std::size_t(at) % g.in_plane());
                    seen[o] = true;
                });
                const Tensor y = garbage(*dev, ny), argmax = garbage(*dev, ny);
                dev->pool2d(PoolOp::max, view_of(*dev, x), y, argmax, g);
                const Floats got = plexus::testing::to_host(*dev, y);
                std::size_t bad = 0;
                for (std::size_t o = 0; o < ny; ++o)
                    bad +=
                        std::isnan(got[o]) != std::isnan(y_want[o]) ||
                        (!std::isnan(got[o]) &&
                         (got[o] != y_want[o] || std::signbit(got[o]) != std::signbit(y_want[o])));
                BOOST_TEST(bad == 0u, bad << " of " << ny << " maxima differ");
                check_exact(plexus::testing::to_host(*dev, argmax), arg_want, "argmax");
            }
        }
}

BOOST_AUTO_TEST_SUITE_END()
