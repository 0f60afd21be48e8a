// Images for transforms: the [H, W] / [C, H, W] sample layout, and bilinear resampling of
// channel-major images through an affine map from output to input pixel coordinates (resize,
// and the geometric augmentations rotate, shift, zoom).
//
// Conventions follow TensorFlow's ImageProjectiveTransform, which Keras's preprocessing layers
// use: pixel centres sit at integer coordinates, an output pixel (x, y) reads the input at
// m(x, y), and points outside the input are filled by the fill mode.
#pragma once

#include <cstddef>
#include <limits>

#include "plexus/export.hpp"
#include "plexus/params.hpp"
#include "plexus/shape.hpp"

namespace plexus::support {

/// One image's layout: [H, W] is one channel, [C, H, W] is C planes, channel-major.
struct ImageDims {
    std::size_t channels = 1;
    std::size_t height = 0;
    std::size_t width = 0;
    std::size_t plane() const { return height * width; }
    std::size_t numel() const { return channels * height * width; }
};

/// The image layout of a `sample` shape ([H, W] or [C, H, W]). Throws ShapeError saying that
/// `who` (the component) needs images and what the samples are otherwise.
PLEXUS_API ImageDims image_dims(const Shape& sample, const char* who);

/// What a warp reads outside the image.
enum class Fill { constant, nearest, reflect };

/// The `fill` parameter of geometric transforms.
constexpr ParamSpec fill_param() {
    return {"fill",
            ParamType::choice,
            "constant",
            0,
            0,
            "constant|nearest|reflect",
            "Points read from outside the image: constant (fill_value), nearest (edge pixel) or "
            "reflect (dcba|abcd|dcba)"};
}

/// The `fill_value` parameter that goes with fill_param().
constexpr ParamSpec fill_value_param() {
    return {"fill_value",
            ParamType::real,
            "0",
            -std::numeric_limits<double>::infinity(),
            std::numeric_limits<double>::infinity(),
            nullptr,
            "Value of points outside the image with fill=constant"};
}

struct FillSpec {
    Fill mode = Fill::constant;
    float value = 0.0f;  // read outside the image with Fill::constant
};

/// The fill of a component whose `params` declare fill_param() and fill_value_param().
PLEXUS_API FillSpec parse_fill(const Params& params);

/// Input coordinates read by output pixel (x, y): (xx·x + xy·y + x0, yx·x + yy·y + y0).
struct Affine {
    double xx = 1, xy = 0, x0 = 0;
    double yx = 0, yy = 1, y0 = 0;
};

/// The map that applies the 2×2 matrix [[a, b], [c, e]] about the centre of an image of
/// dims `d` and then reads `shift_x`, `shift_y` pixels back (so the content moves by +shift).
PLEXUS_API Affine about_centre(const ImageDims& d, double a, double b, double c, double e,
                               double shift_x = 0, double shift_y = 0);

/// Rotation by `radians` counter-clockwise on screen (Keras RandomRotation's sense) about the
/// centre of an image of dims `d`.
PLEXUS_API Affine rotation(const ImageDims& d, double radians);

/// Resamples every channel of `in` (dims `src`) into `out` ([src.channels, out_h, out_w])
/// through `m`, bilinearly. Requires: `in` holds src.numel() values, `out` room for
/// src.channels·out_h·out_w, and the two do not overlap. Ensures: equal neighbours give
/// exactly their value and integer coordinates copy pixels exactly, so an identity map is an
/// exact copy. Allocates nothing.
PLEXUS_API void warp(const float* in, const ImageDims& src, float* out, std::size_t out_h,
                     std::size_t out_w, const Affine& m, const FillSpec& fill);

}  // namespace plexus::support
