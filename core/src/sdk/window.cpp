#include "plexus/support/window.hpp"

#include <charconv>
#include <cstdint>

#include "plexus/error.hpp"
#include "plexus/support/text.hpp"

namespace plexus::support {

namespace {

constexpr std::size_t kMaxSize = std::size_t{1} << 24;  // Device::check_window's limit

std::string size_text(Size2d s) {
    return std::to_string(s.h) + "x" + std::to_string(s.w);
}

// The first tap of a window that starts at `start` (may be negative: padding) and lands in
// [0, in); false when every tap is padding.
bool touches_input(std::int64_t start, std::size_t kernel, std::size_t dilation, std::size_t in) {
    const auto d = static_cast<std::int64_t>(dilation);
    const std::int64_t first = start >= 0 ? 0 : (-start + d - 1) / d;
    return first < static_cast<std::int64_t>(kernel) &&
           start + first * d < static_cast<std::int64_t>(in);
}

// One axis of the window: padding before it, and the output length. Returns false when the
// kernel does not fit (no output, or a window wholly in the padding).
struct Axis1d {
    std::size_t pad_before = 0;
    std::size_t out = 0;
};

bool place_axis(std::size_t in, std::size_t kernel, std::size_t stride, std::size_t dilation,
                const Padding& padding, Axis1d& axis) {
    const std::size_t span = dilation * (kernel - 1) + 1;
    std::size_t pad_after = 0;
    switch (padding.mode) {
        case Padding::Mode::valid:
            break;
        case Padding::Mode::same: {
            // TensorFlow: ceil(in / stride) outputs; the odd row of padding goes after.
            const std::size_t out = (in + stride - 1) / stride;
            const std::size_t needed = (out - 1) * stride + span;
            const std::size_t total = needed > in ? needed - in : 0;
            axis.pad_before = total / 2;
            pad_after = total - axis.pad_before;
            break;
        }
        case Padding::Mode::explicit_:
            axis.pad_before = pad_after = padding.amount;
            break;
    }
    axis.out = window_output(in, kernel, stride, dilation, axis.pad_before, pad_after);
    if (axis.out == 0) return false;
    for (std::size_t o = 0; o < axis.out; ++o)
        if (!touches_input(
                static_cast<std::int64_t>(o * stride) - static_cast<std::int64_t>(axis.pad_before),
                kernel, dilation, in))
            return false;
    return true;
}

std::string padding_text(const Padding& p) {
    return p.mode == Padding::Mode::explicit_ ? "padding " + p.str() : p.str() + " padding";
}

// Flat samples usually are images read as features: say which reshape makes them images.
std::string reshape_hint(const Shape& input) {
    if (input.rank() != 2) return "";
    const std::size_t n = input[1];
    std::size_t side = 1;
    while ((side + 1) * (side + 1) <= n) ++side;
    const std::string example =
        side * side == n ? "1x" + std::to_string(side) + "x" + std::to_string(side) : "CxHxW";
    return "; to read " + std::to_string(n) +
           " features as an image, put 'layer = reshape shape=" + example + "' before it";
}

}  // namespace

std::string Padding::str() const {
    switch (mode) {
        case Mode::valid:
            return "valid";
        case Mode::same:
            return "same";
        case Mode::explicit_:
            break;
    }
    return std::to_string(amount);
}

Size2d parse_size2d(const std::string& text, const char* who, const char* what) {
    Size2d s;
    bool ok = false;
    if (text.find('x') != std::string::npos) {
        ok = parse_pair(text, 'x', s.h, s.w);
    } else {
        const char* const end = text.data() + text.size();
        const auto r = std::from_chars(text.data(), end, s.h);
        ok = !text.empty() && r.ec == std::errc() && r.ptr == end;
        s.w = s.h;
    }
    if (!ok || s.h == 0 || s.w == 0 || s.h > kMaxSize || s.w > kMaxSize)
        throw ParamError(std::string(who) + ": " + what + " '" + text +
                         "' must be a positive integer N (NxN) or HxW (e.g. " + what + "=3 or " +
                         what + "=3x5)");
    return s;
}

Padding parse_padding(const std::string& text, const char* who) {
    if (text == "valid") return {Padding::Mode::valid, 0};
    if (text == "same") return {Padding::Mode::same, 0};
    std::size_t amount = 0;
    const char* const end = text.data() + text.size();
    const auto r = std::from_chars(text.data(), end, amount);
    if (text.empty() || r.ec != std::errc() || r.ptr != end || amount > kMaxSize)
        throw ParamError(std::string(who) + ": padding '" + text +
                         "' must be valid, same or a number N >= 0 of zero rows and columns "
                         "on every side (e.g. padding=same or padding=1)");
    return {Padding::Mode::explicit_, amount};
}

Window2d make_window(const Shape& input, const WindowSpec& spec, const char* who) {
    if (input.rank() != 3 && input.rank() != 4)
        throw ShapeError(std::string(who) +
                         ": expected images [batch, C, H, W] or [batch, H, W], got " + input.str() +
                         reshape_hint(input));
    Window2d w;
    w.batch = input[0];
    w.channels = input.rank() == 4 ? input[1] : 1;
    w.height = input[input.rank() - 2];
    w.width = input[input.rank() - 1];
    w.kernel_h = spec.kernel.h;
    w.kernel_w = spec.kernel.w;
    w.stride_h = spec.stride.h;
    w.stride_w = spec.stride.w;
    w.dilation_h = spec.dilation.h;
    w.dilation_w = spec.dilation.w;

    Shape sample;
    for (std::size_t i = 1; i < input.rank(); ++i) sample.push_back(input[i]);
    if (w.batch == 0 || w.channels == 0 || w.height == 0 || w.width == 0)
        throw ShapeError(std::string(who) + ": an empty input " + input.str());

    const Size2d span{w.dilation_h * (w.kernel_h - 1) + 1, w.dilation_w * (w.kernel_w - 1) + 1};
    std::string kernel = "a " + size_text(spec.kernel) + " kernel";
    if (spec.dilation.h != 1 || spec.dilation.w != 1)
        kernel += " dilated " + size_text(spec.dilation) + " (spanning " + size_text(span) + ")";
    const std::string input_text =
        "a " + std::to_string(w.height) + "x" + std::to_string(w.width) + " input " + sample.str();
    if (spec.padding.mode == Padding::Mode::explicit_ &&
        (spec.padding.amount >= span.h || spec.padding.amount >= span.w))
        throw ShapeError(std::string(who) + ": padding " + spec.padding.str() +
                         " must be smaller than the kernel's span " + size_text(span) + " (" +
                         kernel + "); use a smaller padding or padding=same");

    Axis1d rows, cols;
    if (!place_axis(w.height, w.kernel_h, w.stride_h, w.dilation_h, spec.padding, rows) ||
        !place_axis(w.width, w.kernel_w, w.stride_w, w.dilation_w, spec.padding, cols))
        throw ShapeError(std::string(who) + ": " + kernel + " (" + padding_text(spec.padding) +
                         ") does not fit " + input_text +
                         "; use a smaller kernel or dilation, or padding=same");
    w.pad_top = rows.pad_before;
    w.pad_left = cols.pad_before;
    w.out_h = rows.out;
    w.out_w = cols.out;
    return w;
}

}  // namespace plexus::support
