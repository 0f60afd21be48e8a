// Sliding-window geometry for the layers that slide one over images (conv2d, the pools): the
// `kernel` / `stride` / `dilation` texts ("3" or "3x5"), the `padding` text (valid, same or
// N), and the Device's Window2d that they make for a given input shape.
//
// "same" padding is TensorFlow's (and so Keras's): the output has ceil(H / stride) rows, and
// the padding it takes is split with the extra row at the bottom (and column at the right).
#pragma once

#include <cstddef>
#include <string>

#include "plexus/device.hpp"
#include "plexus/export.hpp"
#include "plexus/shape.hpp"

namespace plexus::support {

/// A height x width pair: a kernel, stride or dilation.
struct Size2d {
    std::size_t h = 1;
    std::size_t w = 1;
};

/// Parses "3" (3x3) or "3x5" (3 rows, 5 columns). Ensures both are in [1, 2^24]. Throws
/// ParamError naming `who` (the component), `what` (the parameter) and an example otherwise.
PLEXUS_API Size2d parse_size2d(const std::string& text, const char* who, const char* what);

/// The padding of a window layer.
struct Padding {
    enum class Mode { valid, same, explicit_ };
    Mode mode = Mode::valid;
    std::size_t amount = 0;  // explicit_: rows / columns of zeros on every side
    /// "valid", "same" or the amount, for messages.
    PLEXUS_API std::string str() const;
};

/// Parses "valid" (no padding), "same" (TensorFlow's) or a count N >= 0 of rows and columns
/// added on every side (PyTorch's padding=N). Throws ParamError naming `who` otherwise.
PLEXUS_API Padding parse_padding(const std::string& text, const char* who);

/// Everything a window layer was given, besides the input.
struct WindowSpec {
    Size2d kernel;
    Size2d stride;
    Size2d dilation;
    Padding padding;
};

/// The window that `spec` slides over inputs of shape `input`: [N, C, H, W], or [N, H, W]
/// for one channel (the first dimension is the batch). Ensures the result passes
/// Device::check_window. Throws ShapeError naming `who` and both the kernel and the
/// per-sample input shape when the input is not an image, or when the (dilated) kernel does
/// not fit it with this padding (e.g. "conv2d: a 5x5 kernel (valid padding) does not fit a
/// 3x3 input [1, 3, 3]"); also when an explicit padding is not smaller than the dilated
/// kernel, or leaves a window wholly in the padding.
PLEXUS_API Window2d make_window(const Shape& input, const WindowSpec& spec, const char* who);

/// `w` for a batch of `batch` samples (a smaller batch than the one a layer was built for).
inline Window2d with_batch(Window2d w, std::size_t batch) {
    w.batch = batch;
    return w;
}

}  // namespace plexus::support
