#include "plexus/support/image.hpp"

#include <cmath>
#include <string>

#include "plexus/error.hpp"

namespace plexus::support {

ImageDims image_dims(const Shape& sample, const char* who) {
    if (sample.rank() == 2) return {1, sample[0], sample[1]};
    if (sample.rank() == 3) return {sample[0], sample[1], sample[2]};
    std::string what = "these samples are " + sample.str();
    if (sample.rank() == 1) what += " features";
    throw ShapeError(std::string(who) + " needs images ([H,W] or [C,H,W]); " + what);
}

FillSpec parse_fill(const Params& params) {
    const std::string& mode = params.get_string("fill");
    return {
        mode == "nearest" ? Fill::nearest : (mode == "reflect" ? Fill::reflect : Fill::constant),
        static_cast<float>(params.get_real("fill_value"))};
}

Affine about_centre(const ImageDims& d, double a, double b, double c, double e, double shift_x,
                    double shift_y) {
    const double cx = (static_cast<double>(d.width) - 1) / 2;
    const double cy = (static_cast<double>(d.height) - 1) / 2;
    return {a, b, cx - a * cx - b * cy - shift_x, c, e, cy - c * cx - e * cy - shift_y};
}

Affine rotation(const ImageDims& d, double radians) {
    const double c = std::cos(radians), s = std::sin(radians);
    return about_centre(d, c, -s, s, c);
}

namespace {

// Maps a coordinate outside [0, len-1] back inside for nearest and reflect (TensorFlow's
// MapCoordinate); constant leaves it, the neighbours outside then read the fill value.
double map_coordinate(double v, std::size_t len, Fill mode) {
    const double last = static_cast<double>(len) - 1;
    if (mode == Fill::constant || (v >= 0 && v <= last)) return v;
    if (mode == Fill::reflect && len > 1) {
        const double period = 2.0 * static_cast<double>(len);
        v = std::fmod(v, period);
        if (v < 0) v += period;                  // now in [0, 2·len)
        if (v > last + 0.5) v = period - v - 1;  // the mirrored half: dcba
    }
    return v < 0 ? 0 : (v > last ? last : v);
}

struct Tap {
    std::ptrdiff_t lo;  // floor of the coordinate; lo + 1 is the other neighbour
    float frac;         // weight of lo + 1
};

// floor() without the libm call; `v` is within a few image sizes of the image here.
Tap tap(double v) {
    auto lo = static_cast<std::ptrdiff_t>(v);
    lo -= v < static_cast<double>(lo);
    return {lo, static_cast<float>(v - static_cast<double>(lo))};
}

}  // namespace

void warp(const float* in, const ImageDims& src, float* out, std::size_t out_h, std::size_t out_w,
          const Affine& m, const FillSpec& fill) {
    const auto h = static_cast<std::ptrdiff_t>(src.height);
    const auto w = static_cast<std::ptrdiff_t>(src.width);
    const std::size_t in_plane = src.plane(), out_plane = out_h * out_w;
    for (std::size_t y = 0; y < out_h; ++y) {
        const double fy = static_cast<double>(y);
        const double row_x = m.xy * fy + m.x0, row_y = m.yy * fy + m.y0;
        for (std::size_t x = 0; x < out_w; ++x) {
            const double fx = static_cast<double>(x);
            double sx = m.xx * fx + row_x, sy = m.yx * fx + row_y;
            float* o = out + y * out_w + x;
            if (fill.mode != Fill::constant) {
                sx = map_coordinate(sx, src.width, fill.mode);
                sy = map_coordinate(sy, src.height, fill.mode);
            } else if (!(sx > -1 && sx < static_cast<double>(w) && sy > -1 &&
                         sy < static_cast<double>(h))) {
                for (std::size_t c = 0; c < src.channels; ++c) o[c * out_plane] = fill.value;
                continue;  // no neighbour inside the image
            }
            const auto tx = tap(sx), ty = tap(sy);
            const bool x0in = tx.lo >= 0, x1in = tx.lo + 1 < w;
            const bool y0in = ty.lo >= 0, y1in = ty.lo + 1 < h;
            const std::ptrdiff_t row0 = ty.lo * w, row1 = row0 + w;
            for (std::size_t c = 0; c < src.channels; ++c) {
                const float* p = in + c * in_plane;
                const float a = (y0in && x0in) ? p[row0 + tx.lo] : fill.value;
                const float b = (y0in && x1in) ? p[row0 + tx.lo + 1] : fill.value;
                const float e = (y1in && x0in) ? p[row1 + tx.lo] : fill.value;
                const float f = (y1in && x1in) ? p[row1 + tx.lo + 1] : fill.value;
                // a + t·(b − a): exact when the neighbours are equal or t is 0.
                const float top = tx.frac == 0.0f ? a : a + tx.frac * (b - a);
                const float bottom = tx.frac == 0.0f ? e : e + tx.frac * (f - e);
                o[c * out_plane] = ty.frac == 0.0f ? top : top + ty.frac * (bottom - top);
            }
        }
    }
}

}  // namespace plexus::support
