// Window ops on NCHW tensors (plexus::Device::im2col, col2im, pool2d, pool2d_backward,
// transpose): plain loops, one plane at a time. The base class has checked the geometry and
// the operands' sizes.
// No include guard: cpu_device.inc includes this once per instruction set.
namespace plexus_cpu {

static void im2col_loops(const float* x, float* col, const plexus::Window2d& w) {
    const std::size_t patch = w.patch(), plane = w.in_plane();
    for (std::size_t n = 0; n < w.batch; ++n)
        for (std::size_t oh = 0; oh < w.out_h; ++oh)
            for (std::size_t ow = 0; ow < w.out_w; ++ow) {
                float* row = col + ((n * w.out_h + oh) * w.out_w + ow) * patch;
                for (std::size_t c = 0; c < w.channels; ++c) {
                    const float* xp = x + (n * w.channels + c) * plane;
                    for (std::size_t i = 0; i < w.kernel_h; ++i) {
                        const std::size_t hp = oh * w.stride_h + i * w.dilation_h;
                        for (std::size_t j = 0; j < w.kernel_w; ++j) {
                            const std::size_t wp = ow * w.stride_w + j * w.dilation_w;
                            const bool in = hp >= w.pad_top && hp - w.pad_top < w.height &&
                                            wp >= w.pad_left && wp - w.pad_left < w.width;
                            *row++ = in ? xp[(hp - w.pad_top) * w.width + (wp - w.pad_left)] : 0.0f;
                        }
                    }
                }
            }
}

static void col2im_loops(const float* col, float* x, const plexus::Window2d& w) {
    const std::size_t patch = w.patch(), plane = w.in_plane();
    std::fill_n(x, w.batch * w.channels * plane, 0.0f);
    for (std::size_t n = 0; n < w.batch; ++n)
        for (std::size_t oh = 0; oh < w.out_h; ++oh)
            for (std::size_t ow = 0; ow < w.out_w; ++ow) {
                const float* row = col + ((n * w.out_h + oh) * w.out_w + ow) * patch;
                for (std::size_t c = 0; c < w.channels; ++c) {
                    float* xp = x + (n * w.channels + c) * plane;
                    for (std::size_t i = 0; i < w.kernel_h; ++i) {
                        const std::size_t hp = oh * w.stride_h + i * w.dilation_h;
                        for (std::size_t j = 0; j < w.kernel_w; ++j, ++row) {
                            const std::size_t wp = ow * w.stride_w + j * w.dilation_w;
                            if (hp >= w.pad_top && hp - w.pad_top < w.height &&
                                wp >= w.pad_left && wp - w.pad_left < w.width)
                                xp[(hp - w.pad_top) * w.width + (wp - w.pad_left)] += *row;
                        }
                    }
                }
            }
}

// Calls f(in-plane index) for each in-bounds element of window (oh, ow), in window order.
template <class F>
static void for_window(const plexus::Window2d& w, std::size_t oh, std::size_t ow, F f) {
    for (std::size_t i = 0; i < w.kernel_h; ++i) {
        const std::size_t hp = oh * w.stride_h + i * w.dilation_h;
        if (hp < w.pad_top || hp - w.pad_top >= w.height) continue;
        for (std::size_t j = 0; j < w.kernel_w; ++j) {
            const std::size_t wp = ow * w.stride_w + j * w.dilation_w;
            if (wp < w.pad_left || wp - w.pad_left >= w.width) continue;
            f((hp - w.pad_top) * w.width + (wp - w.pad_left));
        }
    }
}

static void pool2d_loops(plexus::PoolOp op, const float* x, float* y, float* argmax,
                         const plexus::Window2d& w) {
    const std::size_t planes = w.batch * w.channels;
    for (std::size_t p = 0; p < planes; ++p) {
        const float* xp = x + p * w.in_plane();
        for (std::size_t oh = 0; oh < w.out_h; ++oh)
            for (std::size_t ow = 0; ow < w.out_w; ++ow) {
                const std::size_t o = p * w.out_plane() + oh * w.out_w + ow;
                if (op == plexus::PoolOp::max) {
                    float best = -INFINITY;
                    std::size_t at = SIZE_MAX;
                    for_window(w, oh, ow, [&](std::size_t k) {
                        if (at == SIZE_MAX || xp[k] > best) best = xp[k], at = k;
                    });
                    y[o] = best;
                    if (argmax) argmax[o] = static_cast<float>(at);
                } else {
                    float sum = 0.0f;
                    std::size_t count = 0;
                    for_window(w, oh, ow, [&](std::size_t k) { sum += xp[k], ++count; });
                    y[o] = sum / static_cast<float>(count);
                }
            }
    }
}

static void pool2d_backward_loops(plexus::PoolOp op, const float* dy, const float* argmax,
                                  float* dx, const plexus::Window2d& w) {
    const std::size_t planes = w.batch * w.channels;
    std::fill_n(dx, planes * w.in_plane(), 0.0f);
    for (std::size_t p = 0; p < planes; ++p) {
        float* dxp = dx + p * w.in_plane();
        for (std::size_t oh = 0; oh < w.out_h; ++oh)
            for (std::size_t ow = 0; ow < w.out_w; ++ow) {
                const std::size_t o = p * w.out_plane() + oh * w.out_w + ow;
                if (op == plexus::PoolOp::max) {
                    dxp[static_cast<std::size_t>(argmax[o])] += dy[o];
                } else {
                    std::size_t count = 0;
                    for_window(w, oh, ow, [&](std::size_t) { ++count; });
                    const float g = dy[o] / static_cast<float>(count);
                    for_window(w, oh, ow, [&](std::size_t k) { dxp[k] += g; });
                }
            }
    }
}

static void transpose_loops(const float* x, float* y, std::size_t batch, std::size_t rows,
                            std::size_t cols) {
    for (std::size_t b = 0; b < batch; ++b, x += rows * cols, y += rows * cols)
        for (std::size_t i = 0; i < rows; ++i)
            for (std::size_t j = 0; j < cols; ++j) y[j * rows + i] = x[i * cols + j];
}

}  // namespace plexus_cpu
