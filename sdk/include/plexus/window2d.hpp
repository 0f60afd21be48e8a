// Window2d: the geometry of a sliding 2-D window over an NCHW tensor, shared by the window
// ops of Device (plexus/device.hpp) and the convolution fused keys (plexus/fused.hpp), which
// device.hpp includes, hence a header of its own.
#pragma once

#include <cstddef>

namespace plexus {

/// Geometry of a sliding 2-D window over an NCHW tensor [batch, channels, height, width]:
/// what Device::im2col, col2im, pool2d and pool2d_backward slide, and over what. Output
/// position (oh, ow) with window offset (i, j) reads input row
///   oh * stride_h - pad_top + i * dilation_h   (i < kernel_h)
/// and column likewise; rows and columns outside [0, height) x [0, width) are padding (zeros
/// for im2col, skipped by pooling). Padding after the input is implied by out_h / out_w, so
/// asymmetric "same" padding (the extra row at the bottom, as TensorFlow) is expressible.
/// Device::check_window() states what a valid geometry is; window_output() computes out_h.
struct Window2d {
    std::size_t batch = 1, channels = 1;  // N, C
    std::size_t height = 1, width = 1;    // the input's H, W
    std::size_t kernel_h = 1, kernel_w = 1;
    std::size_t stride_h = 1, stride_w = 1;
    std::size_t dilation_h = 1, dilation_w = 1;
    std::size_t pad_top = 0, pad_left = 0;
    std::size_t out_h = 1, out_w = 1;

    std::size_t in_plane() const { return height * width; }
    std::size_t out_plane() const { return out_h * out_w; }
    /// Elements of one im2col row: C * kernel_h * kernel_w.
    std::size_t patch() const { return channels * kernel_h * kernel_w; }
};

/// The output length of a window along one axis: floor((in + pad_before + pad_after -
/// dilation * (kernel - 1) - 1) / stride) + 1, or 0 when the dilated kernel does not fit.
constexpr std::size_t window_output(std::size_t in, std::size_t kernel, std::size_t stride,
                                    std::size_t dilation, std::size_t pad_before,
                                    std::size_t pad_after) {
    const std::size_t span = dilation * (kernel - 1) + 1;
    const std::size_t padded = in + pad_before + pad_after;
    if (kernel == 0 || stride == 0 || padded < span) return 0;
    return (padded - span) / stride + 1;
}

}  // namespace plexus
