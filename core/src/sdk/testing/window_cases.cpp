// The window ops' cases of the conformance table (im2col, col2im, pool2d, pool2d_backward,
// transpose): odd sizes, stride 2, TensorFlow's asymmetric "same" padding, dilation 2, batch
// 1, one channel, a 1x1 and a 3x5 kernel, channel counts that are not multiples of 4, ties
// for max pooling and views at an offset.
#include <fmt/format.h>

#include <array>
#include <cstddef>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "device_cases.hpp"

namespace plexus::testing::detail {
namespace {

using Floats = std::vector<float>;
using Tensors = std::vector<Tensor>;

struct Geometry {
    const char* name;
    std::size_t n, c, h, w, kh, kw, sh, sw, dh, dw;
    bool same;  // TensorFlow "same" padding; else valid, or `pad` on every side
    std::size_t pad = 0;
};

// Padding before and after along one axis for "same" output ceil(in / stride).
std::pair<std::size_t, std::size_t> same_padding(std::size_t in, std::size_t k, std::size_t s,
                                                 std::size_t d) {
    const std::size_t out = (in + s - 1) / s;
    const std::size_t need = (out - 1) * s + d * (k - 1) + 1;
    const std::size_t total = need > in ? need - in : 0;
    return {total / 2, total - total / 2};
}

Window2d window(const Geometry& g) {
    Window2d w;
    w.batch = g.n, w.channels = g.c, w.height = g.h, w.width = g.w;
    w.kernel_h = g.kh, w.kernel_w = g.kw, w.stride_h = g.sh, w.stride_w = g.sw;
    w.dilation_h = g.dh, w.dilation_w = g.dw;
    std::size_t after_h = g.pad, after_w = g.pad;
    w.pad_top = w.pad_left = g.pad;
    if (g.same) {
        std::tie(w.pad_top, after_h) = same_padding(g.h, g.kh, g.sh, g.dh);
        std::tie(w.pad_left, after_w) = same_padding(g.w, g.kw, g.sw, g.dw);
    }
    w.out_h = window_output(g.h, g.kh, g.sh, g.dh, w.pad_top, after_h);
    w.out_w = window_output(g.w, g.kw, g.sw, g.dw, w.pad_left, after_w);
    return w;
}

const std::vector<Geometry> kGeometries = {
    {"3x3 valid, odd sizes", 2, 3, 7, 5, 3, 3, 1, 1, 1, 1, false},
    {"3x3 same", 3, 5, 9, 8, 3, 3, 1, 1, 1, 1, true},
    {"3x3 same stride 2 (asymmetric)", 2, 5, 9, 8, 3, 3, 2, 2, 1, 1, true},
    {"3x3 dilation 2 pad 2", 1, 1, 11, 10, 3, 3, 1, 1, 2, 2, false, 2},
    {"1x1 batch 1 one channel", 1, 1, 6, 7, 1, 1, 1, 1, 1, 1, false},
    {"3x5 stride 2x1 same", 2, 3, 8, 9, 3, 5, 2, 1, 1, 1, true},
    {"5x5 pad 2, 6 channels", 2, 6, 6, 6, 5, 5, 1, 1, 1, 1, false, 2},
    {"2x2 stride 2 (pooling)", 4, 6, 28, 28, 2, 2, 2, 2, 1, 1, false},
    {"2x2 stride 2 same, odd map", 2, 3, 7, 7, 2, 2, 2, 2, 1, 1, true},
    {"3x3 stride 2 overlapping", 2, 2, 9, 9, 3, 3, 2, 2, 1, 1, false},
    {"global 5x4", 3, 5, 5, 4, 5, 4, 1, 1, 1, 1, false},
};

Shape image(const Window2d& w) { return {w.batch, w.channels, w.height, w.width}; }
Shape pooled(const Window2d& w) { return {w.batch, w.channels, w.out_h, w.out_w}; }
Shape columns(const Window2d& w) { return {w.batch * w.out_plane(), w.patch()}; }

std::string describe(const Geometry& g, const Window2d& w) {
    return fmt::format("{} {}x{}x{}x{} -> {}x{}", g.name, w.batch, w.channels, w.height, w.width,
                       w.out_h, w.out_w);
}

void im2col_cases(std::vector<Case>& cases) {
    for (const Geometry& g : kGeometries) {
        const Window2d w = window(g);
        // col starts as NaN: padding must be written as zeros, nothing left unwritten.
        cases.push_back({"im2col",
                         describe(g, w),
                         {{image(w)}},
                         {{columns(w), 0, 0, Floats(columns(w).numel(), kNaN)}},
                         [w](Device& d, const Tensors& t) { d.im2col(t[0], t[1], w); },
                         0.0,
                         0.0});
        // x starts as NaN: col2im overwrites it.
        cases.push_back({"col2im",
                         describe(g, w),
                         {{columns(w)}},
                         {{image(w), 0, 0, Floats(image(w).numel(), kNaN)}},
                         [w](Device& d, const Tensors& t) { d.col2im(t[0], t[1], w); },
                         1e-5,
                         1e-5});
    }
}

void pool_cases(std::vector<Case>& cases) {
    for (const Geometry& g : kGeometries) {
        if (g.dh > 1) continue;  // pooling layers never dilate; im2col covers dilation
        const Window2d w = window(g);
        for (const PoolOp op : {PoolOp::max, PoolOp::avg}) {
            const std::string name = std::string(op_name(op));
            cases.push_back({"pool2d " + name,
                             describe(g, w),
                             {{image(w)}},
                             {{pooled(w), 0, 0, Floats(pooled(w).numel(), kNaN)},
                              {pooled(w), 0, 0, Floats(pooled(w).numel(), kNaN)}},
                             [w, op](Device& d, const Tensors& t) {
                                 d.pool2d(op, t[0], t[1], op == PoolOp::max ? t[2] : Tensor(), w);
                                 if (op == PoolOp::avg) d.fill(t[2], 0.0f);
                             },
                             1e-5,
                             1e-6});
            // Backward after forward (max needs the argmax); dx starts as NaN.
            cases.push_back({"pool2d_backward " + name,
                             describe(g, w),
                             {{image(w)}, {pooled(w)}},
                             {{pooled(w)}, {pooled(w)}, {image(w), 0, 0, Floats(image(w).numel(), kNaN)}},
                             [w, op](Device& d, const Tensors& t) {
                                 d.pool2d(op, t[0], t[2], t[3], w);
                                 d.pool2d_backward(op, t[1], op == PoolOp::max ? t[3] : Tensor(),
                                                   t[4], w);
                             },
                             1e-5,
                             1e-6});
        }
    }
    // Small integers: windows hold ties, and the first maximum in window order must win, in
    // the argmax and so in where the gradient goes.
    const Geometry tied{"ties", 2, 3, 6, 7, 3, 3, 2, 2, 1, 1, true};
    const Window2d w = window(tied);
    Floats ints(image(w).numel());
    for (std::size_t i = 0; i < ints.size(); ++i) ints[i] = static_cast<float>((i * 7 + i / 5) % 3);
    cases.push_back({"pool2d max ties",
                     describe(tied, w),
                     {{image(w), 0, 0, ints}, {pooled(w)}},
                     {{pooled(w)}, {pooled(w)}, {image(w)}},
                     [w](Device& d, const Tensors& t) {
                         d.pool2d(PoolOp::max, t[0], t[2], t[3], w);
                         d.pool2d_backward(PoolOp::max, t[1], t[3], t[4], w);
                     },
                     1e-6,
                     1e-6});
    // Inference: max without an argmax tensor.
    cases.push_back({"pool2d max without argmax",
                     describe(tied, w),
                     {{image(w)}},
                     {{pooled(w)}},
                     [w](Device& d, const Tensors& t) {
                         d.pool2d(PoolOp::max, t[0], t[1], Tensor(), w);
                     },
                     0.0,
                     0.0});
}

void transpose_cases(std::vector<Case>& cases) {
    // (batch, rows, cols): NCHW <-> NHWC of the CNN's maps, odd sizes, one row or column, tiles
    // that do not divide.
    const std::vector<std::array<std::size_t, 3>> sizes = {
        {1, 1, 1}, {1, 1, 7}, {3, 5, 1}, {2, 3, 5}, {4, 32, 784}, {3, 17, 33}, {2, 65, 129}};
    for (const auto& [b, r, c] : sizes)
        cases.push_back({"transpose",
                         fmt::format("{}x{}x{}", b, r, c),
                         {{Shape{b, r, c}}},
                         {{Shape{b, c, r}, 0, 0, Floats(b * r * c, kNaN)}},
                         [b = b, r = r, c = c](Device& d, const Tensors& t) {
                             d.transpose(t[0], t[1], b, r, c);
                         },
                         0.0,
                         0.0});
    // (batch, rows, cols, inner): runs moved whole, e.g. conv2d's [F, N, H*W] -> [N, F, H*W]
    // (batch 1) and back; an odd run, and inner = 1 through the same argument.
    const std::vector<std::array<std::size_t, 4>> runs = {
        {2, 3, 5, 1}, {1, 32, 3, 196}, {1, 3, 32, 196}, {2, 5, 3, 7}, {3, 1, 4, 7}, {1, 17, 9, 49}};
    for (const auto& [b, r, c, k] : runs)
        cases.push_back({"transpose",
                         fmt::format("{}x{}x{} runs {}", b, r, c, k),
                         {{Shape{b, r, c * k}}},
                         {{Shape{b, c, r * k}, 0, 0, Floats(b * r * c * k, kNaN)}},
                         [b = b, r = r, c = c, k = k](Device& d, const Tensors& t) {
                             d.transpose(t[0], t[1], b, r, c, k);
                         },
                         0.0,
                         0.0});
    cases.push_back({"transpose views at an offset",
                     "2x3x5",
                     {{Shape{40, 3}}},
                     {{Shape{14, 3}}},
                     [](Device& d, const Tensors& t) {
                         d.transpose(t[0].rows(7, 10), t[1].rows(2, 10), 2, 3, 5);
                     },
                     0.0,
                     0.0});
    cases.push_back({"transpose views at an offset",
                     "1x3x2 runs 5",
                     {{Shape{40, 3}}},
                     {{Shape{14, 3}}},
                     [](Device& d, const Tensors& t) {
                         d.transpose(t[0].rows(7, 10), t[1].rows(2, 10), 1, 3, 2, 5);
                     },
                     0.0,
                     0.0});
}

}  // namespace

void window_cases(std::vector<Case>& cases) {
    im2col_cases(cases);
    pool_cases(cases);
    transpose_cases(cases);
}

}  // namespace plexus::testing::detail
