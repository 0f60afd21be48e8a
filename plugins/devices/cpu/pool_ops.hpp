// Pooling on NCHW tensors (plexus::Device::pool2d and pool2d_backward); the base class has
// checked the geometry and the operands' sizes. Planes (one channel of one sample) are
// independent, so large ops are split between the pool's threads by plane. Each window's
// in-bounds taps are one rectangle of the kernel (`Taps`, window_ops.hpp), so no tap is
// bounds-checked; the common 2x2 stride-2 window has its own forward loop, free of branches
// on the data (the max and its argmax are selects). Max pooling's backward zeroes a plane
// and adds dy at each argmax, while the plane is in L1 (writing each window's four taps
// instead, selects and all, measured 3-6x slower: rows of 7 or 14 windows do not vectorise).
// No include guard: cpu_device.inc includes this once per instruction set (after
// window_ops.hpp).
namespace plexus_cpu {

// The in-bounds taps of window (oh, ow) as the input's first row and column and the kernel
// rows and columns they cover.
struct WindowTaps {
    Taps rows, cols;
    std::size_t first;  // in-plane index of the first in-bounds tap
};
static WindowTaps window_taps(const plexus::Window2d& w, std::size_t oh, std::size_t ow) {
    const Taps rows = taps_inside(oh, w.kernel_h, w.stride_h, w.dilation_h, w.pad_top, w.height);
    const Taps cols = taps_inside(ow, w.kernel_w, w.stride_w, w.dilation_w, w.pad_left, w.width);
    return {rows, cols,
            (oh * w.stride_h + rows.lo * w.dilation_h - w.pad_top) * w.width +
                (ow * w.stride_w + cols.lo * w.dilation_w - w.pad_left)};
}

// Calls f(in-plane index) for each in-bounds tap of `t`, in window order (rows, then columns).
template <class F>
static void each_tap(const plexus::Window2d& w, const WindowTaps& t, F f) {
    std::size_t row = t.first;
    for (std::size_t i = t.rows.lo; i < t.rows.hi; ++i, row += w.dilation_h * w.width)
        for (std::size_t j = 0; j < t.cols.hi - t.cols.lo; ++j) f(row + j * w.dilation_w);
}

static std::size_t tap_count(const WindowTaps& t) {
    return (t.rows.hi - t.rows.lo) * (t.cols.hi - t.cols.lo);
}

// A 2x2, stride-2, unpadded window: the full windows [0, full_h) x [0, full_w) take the loop
// below; the last row and column of windows (padding after an odd size) the general one.
static bool is_pair_window(const plexus::Window2d& w) {
    return w.kernel_h == 2 && w.kernel_w == 2 && w.stride_h == 2 && w.stride_w == 2 &&
           w.dilation_h == 1 && w.dilation_w == 1 && w.pad_top == 0 && w.pad_left == 0;
}

// Output row oh of pair windows [0, full_w) of one plane. Compiled for 256-bit vectors and
// not inlined: in the AVX-512 variant GCC's 16-lane code for these short rows ran the
// max-with-argmax loop 1.5x slower than with 8 lanes (7 and 14 windows per row in model (d)).
#pragma GCC push_options
#pragma GCC target("prefer-vector-width=256")
[[gnu::noinline]] static void pool_pair_row(plexus::PoolOp op, const float* xp, float* yo,
                                            float* ao, std::size_t oh, std::size_t width,
                                            std::size_t full_w) {
    const float* r0 = xp + 2 * oh * width;
    const float* r1 = r0 + width;
    if (op == plexus::PoolOp::avg) {
        for (std::size_t ow = 0; ow < full_w; ++ow)
            yo[ow] = (r0[2 * ow] + r0[2 * ow + 1] + r1[2 * ow] + r1[2 * ow + 1]) * 0.25f;
        return;
    }
    if (!ao) {
        for (std::size_t ow = 0; ow < full_w; ++ow) {
            float m = r0[2 * ow];
            m = r0[2 * ow + 1] > m ? r0[2 * ow + 1] : m;
            m = r1[2 * ow] > m ? r1[2 * ow] : m;
            yo[ow] = r1[2 * ow + 1] > m ? r1[2 * ow + 1] : m;
        }
        return;
    }
    // The first tap holding the maximum, as the general loop (pool_plane) finds it: a strict
    // `>` against the running maximum, so ties go to the first tap in window order, a NaN in
    // a stays (no comparison with it is true) and a NaN elsewhere is never taken. Both the
    // value and the index are selects on masks, not branches: rows here are 7 or 14 outputs,
    // under one AVX-512 vector, so this runs as scalar code, where a branch on random data
    // is mispredicted every other window (it ran 2-3x slower). In-plane indices fit an int:
    // below 2^24 (check_window).
    const int w = static_cast<int>(width), base = static_cast<int>(2 * oh * width);
    for (int ow = 0; ow < static_cast<int>(full_w); ++ow) {
        const float a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
        const int first = base + 2 * ow;
        float m = a;
        int at = first;
        const int gb = -static_cast<int>(b > m);
        m = b > m ? b : m;
        at = (at & ~gb) | ((first + 1) & gb);
        const int gc = -static_cast<int>(c > m);
        m = c > m ? c : m;
        at = (at & ~gc) | ((first + w) & gc);
        const int gd = -static_cast<int>(d > m);
        m = d > m ? d : m;
        at = (at & ~gd) | ((first + w + 1) & gd);
        yo[ow] = m;
        ao[ow] = static_cast<float>(at);
    }
}
#pragma GCC pop_options

static void pool_plane(plexus::PoolOp op, const float* xp, float* yp, float* ap,
                       const plexus::Window2d& w) {
    const bool pair = is_pair_window(w);
    const std::size_t full_h = pair ? std::min(w.out_h, w.height / 2) : 0;
    const std::size_t full_w = pair ? std::min(w.out_w, w.width / 2) : 0;
    for (std::size_t oh = 0; oh < w.out_h; ++oh) {
        float* yo = yp + oh * w.out_w;
        float* ao = ap ? ap + oh * w.out_w : nullptr;
        const std::size_t from = oh < full_h ? full_w : 0;
        if (from) pool_pair_row(op, xp, yo, ao, oh, w.width, full_w);
        for (std::size_t ow = from; ow < w.out_w; ++ow) {
            const WindowTaps t = window_taps(w, oh, ow);
            if (op == plexus::PoolOp::max) {
                float best = xp[t.first];
                std::size_t at = t.first;
                each_tap(w, t, [&](std::size_t k) {
                    if (xp[k] > best) best = xp[k], at = k;
                });
                yo[ow] = best;
                if (ao) ao[ow] = static_cast<float>(at);
            } else {
                float sum = 0.0f;
                each_tap(w, t, [&](std::size_t k) { sum += xp[k]; });
                yo[ow] = sum / static_cast<float>(tap_count(t));
            }
        }
    }
}

static void pool2d_loops(plexus::PoolOp op, const float* x, float* y, float* argmax,
                         const plexus::Window2d& w, WorkerPool* pool) {
    const std::size_t planes = w.batch * w.channels, in = w.in_plane(), out = w.out_plane();
    split_items(pool, planes, planes * (in + 2 * out), [&](std::size_t begin, std::size_t end) {
        for (std::size_t p = begin; p < end; ++p)
            pool_plane(op, x + p * in, y + p * out, argmax ? argmax + p * out : nullptr, w);
    });
}

// dx of one plane; false when an argmax is not an in-plane index (that window is skipped).
static bool pool_backward_plane(plexus::PoolOp op, const float* dy, const float* am, float* dx,
                                const plexus::Window2d& w) {
    const std::size_t in = w.in_plane(), out = w.out_plane();
    std::fill_n(dx, in, 0.0f);
    bool ok = true;
    if (op == plexus::PoolOp::max) {
        const float limit = static_cast<float>(in);
        for (std::size_t o = 0; o < out; ++o) {
            if (!(am[o] >= 0.0f && am[o] < limit)) [[unlikely]] {
                ok = false;
                continue;
            }
            dx[static_cast<std::size_t>(am[o])] += dy[o];
        }
        return ok;
    }
    const bool pair = is_pair_window(w);
    const std::size_t full_h = pair ? std::min(w.out_h, w.height / 2) : 0;
    const std::size_t full_w = pair ? std::min(w.out_w, w.width / 2) : 0;
    for (std::size_t oh = 0; oh < w.out_h; ++oh) {
        const std::size_t from = oh < full_h ? full_w : 0;
        float* r0 = dx + 2 * oh * w.width;
        float* r1 = r0 + w.width;
        for (std::size_t ow = 0; ow < from; ++ow) {  // disjoint windows: stores, not adds
            const float g = dy[oh * w.out_w + ow] * 0.25f;
            r0[2 * ow] = r0[2 * ow + 1] = r1[2 * ow] = r1[2 * ow + 1] = g;
        }
        for (std::size_t ow = from; ow < w.out_w; ++ow) {
            const WindowTaps t = window_taps(w, oh, ow);
            const float g = dy[oh * w.out_w + ow] / static_cast<float>(tap_count(t));
            each_tap(w, t, [&](std::size_t k) { dx[k] += g; });
        }
    }
    return ok;
}

// False when some argmax was not an in-plane index (its gradient is dropped).
static bool pool2d_backward_loops(plexus::PoolOp op, const float* dy, const float* argmax,
                                  float* dx, const plexus::Window2d& w, WorkerPool* pool) {
    const std::size_t planes = w.batch * w.channels, in = w.in_plane(), out = w.out_plane();
    std::atomic<bool> ok{true};
    split_items(pool, planes, planes * (in + 2 * out), [&](std::size_t begin, std::size_t end) {
        for (std::size_t p = begin; p < end; ++p)
            if (!pool_backward_plane(op, dy + p * out, argmax ? argmax + p * out : nullptr,
                                     dx + p * in, w))
                ok.store(false, std::memory_order_relaxed);
    });
    return ok.load(std::memory_order_relaxed);
}

}  // namespace plexus_cpu
