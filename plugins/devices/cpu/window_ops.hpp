// Window ops on NCHW tensors (plexus::Device::im2col, col2im, transpose; pooling is in
// pool_ops.hpp). The base class has checked the geometry and the operands' sizes.
//
// These are the memory-bound half of a convolution (the GEMM is the other), so the loops
// avoid per-tap bounds checks: for each output position the in-bounds kernel rows and
// columns are worked out once (`Taps`), and output columns whose whole window lies inside
// the input row take a branch-free copy of kernel_w contiguous floats, unrolled for the
// usual widths. Large ops are split between the pool's threads: im2col by output row,
// col2im and transpose by sample, so no two threads write the same element and each thread
// computes exactly what one thread would.
// No include guard: cpu_device.inc includes this once per instruction set.
namespace plexus_cpu {

// Below this many floats read plus written, a window op runs on the calling thread: waking
// the helpers costs more than it saves.
constexpr std::size_t kParallelWindow = std::size_t{1} << 17;

// Calls body(begin, end) over [0, items), split into one contiguous range per pool thread
// when the op moves at least kParallelWindow floats.
template <class Body>
static void split_items(WorkerPool* pool, std::size_t items, std::size_t floats, Body body) {
    if (!pool || pool->parts() == 1 || items < 2 || floats < kParallelWindow)
        return body(std::size_t{0}, items);
    auto part_body = [&](unsigned part, unsigned parts) {
        const std::size_t begin = items * part / parts, end = items * (part + 1) / parts;
        if (begin < end) body(begin, end);
    };
    pool->run(part_body);
}

// Kernel offsets [lo, hi) whose taps o * stride + k * dilation - pad fall inside [0, in).
// The taps move monotonically with k, so the in-bounds ones are one range.
struct Taps {
    std::size_t lo, hi;
};
static Taps taps_inside(std::size_t o, std::size_t kernel, std::size_t stride, std::size_t dilation,
                        std::size_t pad, std::size_t in) {
    const std::size_t at = o * stride, end = in + pad;  // both shifted by pad
    if (dilation == 1)                                  // the common case, without the divisions
        return at >= end
                   ? Taps{0, 0}
                   : Taps{at >= pad ? 0 : std::min(kernel, pad - at), std::min(kernel, end - at)};
    const std::size_t lo = at >= pad ? 0 : (pad - at + dilation - 1) / dilation;
    const std::size_t hi = end > at ? std::min(kernel, (end - at + dilation - 1) / dilation) : 0;
    return {std::min(lo, hi), hi};
}

// Output positions [lo, hi) along one axis whose every tap is in bounds.
static Taps interior(std::size_t out, std::size_t kernel, std::size_t stride, std::size_t dilation,
                     std::size_t pad, std::size_t in) {
    const std::size_t span = dilation * (kernel - 1) + 1;
    const std::size_t lo = std::min(out, (pad + stride - 1) / stride);
    const std::size_t hi = in + pad >= span ? std::min(out, (in + pad - span) / stride + 1) : 0;
    return {lo, std::max(lo, hi)};
}

// im2col of a window wholly inside the input, kernel_w = KW < 4, dilation_w 1: each kernel
// row is KW contiguous floats, moved as one 4-float load and store (a vector move where the
// compiler has one) whose extra float the next row's store overwrites. The last row is
// copied exactly unless `spill` (the next window of this output row, written next, overwrites
// it). The caller ensures the 4-float reads stay inside the input row.
template <std::size_t KW>
static void copy_window(const float* x, float* out, const plexus::Window2d& w, bool spill) {
    const std::size_t kh = w.kernel_h, step = w.dilation_h * w.width, plane = w.in_plane();
    for (std::size_t c = 0; c < w.channels; ++c) {
        const float* xr = x + c * plane;
        const bool last = c + 1 == w.channels && !spill;
        const std::size_t wide = last ? kh - 1 : kh;
        for (std::size_t i = 0; i < wide; ++i, xr += step, out += KW)
            std::memcpy(out, xr, 4 * sizeof(float));
        if (last)
            for (std::size_t j = 0; j < KW; ++j) out[j] = xr[j];
    }
}

// col2im's accumulation for the same windows as copy_window: each kernel row adds KW floats
// of col to x as one 4-float add whose extra lane adds -0 (x + -0 is x, even for x = -0), so
// every element sums the same terms in the same order as one at a time. The extra col float
// read is the next row's (or, with `spill`, the next window's); the caller ensures the x
// row holds 4 floats from there.
template <std::size_t KW>
static void add_window(const float* col, float* x, const plexus::Window2d& w, bool spill) {
    const std::size_t kh = w.kernel_h, step = w.dilation_h * w.width, plane = w.in_plane();
    for (std::size_t c = 0; c < w.channels; ++c) {
        float* xr = x + c * plane;
        const bool last = c + 1 == w.channels && !spill;
        const std::size_t wide = last ? kh - 1 : kh;
        for (std::size_t i = 0; i < wide; ++i, xr += step, col += KW) {
            float v[4];
            std::memcpy(v, col, sizeof v);
            for (std::size_t j = KW; j < 4; ++j) v[j] = -0.0f;
            for (std::size_t j = 0; j < 4; ++j) xr[j] += v[j];
        }
        if (last)
            for (std::size_t j = 0; j < KW; ++j) xr[j] += col[j];
    }
}

// im2col (kAdd false: col = taps of x, 0 for padding) or col2im's accumulation (kAdd true:
// x += col at each tap, padding dropped) over output rows [begin, end) of the [N * out_h]
// rows of windows. KW is kernel_w when it is one of the unrolled widths, else 0.
template <std::size_t KW, bool kAdd>
static void patch_rows(const plexus::Window2d& w, std::conditional_t<kAdd, float*, const float*> x,
                       std::conditional_t<kAdd, const float*, float*> col, std::size_t begin,
                       std::size_t end) {
    const std::size_t kw = KW ? KW : w.kernel_w, kh = w.kernel_h, dw = w.dilation_w;
    const std::size_t width = w.width, plane = w.in_plane();
    const Taps inner = interior(w.out_w, kw, w.stride_w, dw, w.pad_left, width);
    const auto tap = [](auto& c, auto& v) {
        if constexpr (kAdd)
            v += c;
        else
            c = v;
    };
    const auto pad = [](auto* c, std::size_t count) {  // padding: zeros in col, nothing in x
        if constexpr (!kAdd) std::fill_n(c, count, 0.0f);
    };
    for (std::size_t r = begin; r < end; ++r) {
        const std::size_t n = r / w.out_h, oh = r % w.out_h;
        const Taps rows = taps_inside(oh, kh, w.stride_h, w.dilation_h, w.pad_top, w.height);
        // Input row of kernel row i: first_row + i * dilation_h (valid for i in rows).
        const std::size_t first_row = oh * w.stride_h - w.pad_top + rows.lo * w.dilation_h;
        auto* xn = x + n * w.channels * plane + first_row * width;
        auto* out = col + r * w.out_w * w.patch();
        for (std::size_t ow = 0; ow < w.out_w; ++ow) {
            const bool whole = ow >= inner.lo && ow < inner.hi;
            const Taps cols =
                whole ? Taps{0, kw} : taps_inside(ow, kw, w.stride_w, dw, w.pad_left, width);
            const std::size_t first_col = ow * w.stride_w + cols.lo * dw - w.pad_left;
            if constexpr (KW > 0 && KW < 4) {
                if (whole && dw == 1 && rows.lo == 0 && rows.hi == kh && first_col + 4 <= width) {
                    if constexpr (kAdd)
                        add_window<KW>(out, xn + first_col, w, ow + 1 < w.out_w);
                    else
                        copy_window<KW>(xn + first_col, out, w, ow + 1 < w.out_w);
                    out += w.patch();
                    continue;
                }
            }
            for (std::size_t c = 0; c < w.channels; ++c) {
                pad(out, rows.lo * kw);
                out += rows.lo * kw;
                auto* xr = xn + c * plane + first_col;
                for (std::size_t i = rows.lo; i < rows.hi; ++i, xr += w.dilation_h * width) {
                    if (KW && whole && dw == 1) {
                        for (std::size_t j = 0; j < KW; ++j) tap(out[j], xr[j]);
                    } else {
                        pad(out, cols.lo);
                        for (std::size_t j = cols.lo; j < cols.hi; ++j)
                            tap(out[j], xr[(j - cols.lo) * dw]);
                        pad(out + cols.hi, kw - cols.hi);
                    }
                    out += kw;
                }
                pad(out, (kh - rows.hi) * kw);
                out += (kh - rows.hi) * kw;
            }
        }
    }
}

// Calls f.template operator()<KW>() with KW the unrolled kernel width or 0.
template <class F>
static void with_kernel_width(std::size_t kw, F f) {
    switch (kw) {
        case 1:
            return f.template operator()<1>();
        case 2:
            return f.template operator()<2>();
        case 3:
            return f.template operator()<3>();
        case 5:
            return f.template operator()<5>();
        default:
            return f.template operator()<0>();
    }
}

static void transpose_loops(const float* x, float* y, std::size_t batch, std::size_t rows,
                            std::size_t cols, WorkerPool* pool);

static void im2col_loops(const float* x, float* col, const plexus::Window2d& w, WorkerPool* pool) {
    // A 1x1 window with stride 1 and no padding reads every pixel once: per sample, col is
    // x's [C, H*W] transposed.
    if (w.kernel_h == 1 && w.kernel_w == 1 && w.stride_h == 1 && w.stride_w == 1 &&
        w.out_h == w.height && w.out_w == w.width)
        return transpose_loops(x, col, w.batch, w.channels, w.in_plane(), pool);
    const std::size_t rows = w.batch * w.out_h;
    split_items(pool, rows, rows * w.out_w * w.patch(), [&](std::size_t begin, std::size_t end) {
        with_kernel_width(w.kernel_w,
                          [&]<std::size_t KW>() { patch_rows<KW, false>(w, x, col, begin, end); });
    });
}

static void col2im_loops(const float* col, float* x, const plexus::Window2d& w, WorkerPool* pool) {
    if (w.kernel_h == 1 && w.kernel_w == 1 && w.stride_h == 1 && w.stride_w == 1 &&
        w.out_h == w.height && w.out_w == w.width)
        return transpose_loops(col, x, w.batch, w.in_plane(), w.channels, pool);
    const std::size_t sample = w.channels * w.in_plane();
    split_items(pool, w.batch, w.batch * w.out_plane() * w.patch(),
                [&](std::size_t begin, std::size_t end) {
                    // One sample at a time, so its planes stay in cache while the windows add up.
                    for (std::size_t n = begin; n < end; ++n) {
                        std::fill_n(x + n * sample, sample, 0.0f);
                        with_kernel_width(w.kernel_w, [&]<std::size_t KW>() {
                            patch_rows<KW, true>(w, x, col, n * w.out_h, (n + 1) * w.out_h);
                        });
                    }
                });
}

// Square tiles small enough that a tile of x and of y stay in L1 while one is read along
// rows and the other written along rows.
constexpr std::size_t kTransposeTile = 16;

static void transpose_matrix(const float* x, float* y, std::size_t rows, std::size_t cols) {
    for (std::size_t i0 = 0; i0 < rows; i0 += kTransposeTile) {
        const std::size_t i1 = std::min(rows, i0 + kTransposeTile);
        for (std::size_t j0 = 0; j0 < cols; j0 += kTransposeTile) {
            const std::size_t j1 = std::min(cols, j0 + kTransposeTile);
            for (std::size_t j = j0; j < j1; ++j)
                for (std::size_t i = i0; i < i1; ++i) y[j * rows + i] = x[i * cols + j];
        }
    }
}

static void transpose_loops(const float* x, float* y, std::size_t batch, std::size_t rows,
                            std::size_t cols, WorkerPool* pool) {
    const std::size_t n = rows * cols;
    split_items(pool, batch, 2 * batch * n, [&](std::size_t begin, std::size_t end) {
        for (std::size_t b = begin; b < end; ++b)
            transpose_matrix(x + b * n, y + b * n, rows, cols);
    });
}

}  // namespace plexus_cpu
