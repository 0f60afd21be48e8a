// Image transforms, one library: grayscale (RGB to luma) and resize (bilinear). Both change
// the sample shape, so they run in every mode and the model's input is their output.
#include <algorithm>
#include <string>
#include <utility>

#include "plexus/plexus.hpp"
#include "plexus/support/image.hpp"
#include "plexus/support/text.hpp"

namespace {

using plexus::Params;
using plexus::ParamSpec;
using plexus::ParamType;
using plexus::Shape;
using plexus::ShapeError;
using plexus::support::image_dims;
using plexus::support::ImageDims;

constexpr ParamSpec kResizeParams[] = {
    {"size", ParamType::string, nullptr, 0, 0, nullptr,
     "Output height and width as 'HxW', e.g. size=32x32"},
};

// ITU-R BT.601 luma, L = 0.299 R + 0.587 G + 0.114 B: the weights of PIL's convert("L") and
// of tf.image.rgb_to_grayscale (Keras), so a model sees the gray levels those tools produce.
// One-channel images pass through unchanged, so the transform can sit in a pipeline that
// reads either kind of image.
class Grayscale final : public plexus::Transform {
public:
    explicit Grayscale(const Params&) {}

    Shape build(const Shape& sample) override {
        dims_ = image_dims(sample, "grayscale");
        if (dims_.channels != 1 && dims_.channels != 3)
            throw ShapeError(
                "grayscale needs 1 or 3 channels ([H,W], [1,H,W] or [3,H,W]); "
                "these samples are " +
                sample.str());
        if (dims_.channels == 1) return sample;
        return {1, dims_.height, dims_.width};
    }

    void apply(const float* in, float* out, std::size_t rows, plexus::Mode,
               const plexus::ApplyContext&) const override {
        const std::size_t plane = dims_.plane();
        if (dims_.channels == 1) {
            std::copy_n(in, rows * plane, out);
            return;
        }
        for (std::size_t r = 0; r < rows; ++r) {
            const float* red = in + r * 3 * plane;
            const float* green = red + plane;
            const float* blue = green + plane;
            float* y = out + r * plane;
            for (std::size_t i = 0; i < plane; ++i)
                y[i] = 0.299f * red[i] + 0.587f * green[i] + 0.114f * blue[i];
        }
    }

private:
    ImageDims dims_;
};

// Parses "HxW" with positive H and W.
std::pair<std::size_t, std::size_t> parse_size(const std::string& text) {
    std::size_t h = 0, w = 0;
    if (!plexus::support::parse_pair(text, 'x', h, w) || h == 0 || w == 0 || h > 65536 || w > 65536)
        throw plexus::ParamError("resize: size '" + text +
                                 "' must be 'HxW' with positive integers, e.g. size=32x32");
    return {h, w};
}

// Bilinear resize with half-pixel centres: output pixel i samples the input at
// (i + 0.5)·in/out − 0.5, clamped to the image, from its two nearest pixels per axis. This is
// tf.image.resize(method="bilinear", antialias=False) (TensorFlow 2, and Keras's Resizing
// layer) and torch's interpolate(mode="bilinear", align_corners=False); PIL agrees when
// enlarging and averages more pixels (antialiasing) when shrinking by more than 2×.
class Resize final : public plexus::Transform {
public:
    explicit Resize(const Params& params) : size_(parse_size(params.get_string("size"))) {}

    Shape build(const Shape& sample) override {
        dims_ = image_dims(sample, "resize");
        const double sy = double(dims_.height) / double(size_.first);
        const double sx = double(dims_.width) / double(size_.second);
        map_ = {sx, 0, 0.5 * sx - 0.5, 0, sy, 0.5 * sy - 0.5};
        if (sample.rank() == 2) return {size_.first, size_.second};
        return {dims_.channels, size_.first, size_.second};
    }

    void apply(const float* in, float* out, std::size_t rows, plexus::Mode,
               const plexus::ApplyContext&) const override {
        const std::size_t out_n = dims_.channels * size_.first * size_.second;
        for (std::size_t r = 0; r < rows; ++r)
            plexus::support::warp(in + r * dims_.numel(), dims_, out + r * out_n, size_.first,
                                  size_.second, map_, {plexus::support::Fill::nearest, 0});
    }

private:
    std::pair<std::size_t, std::size_t> size_;  // output height, width
    ImageDims dims_;
    plexus::support::Affine map_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Grayscale>("grayscale", "0.1.0",
                                           "RGB to one luma channel, ITU-R BT.601 weights "
                                           "(PIL convert('L'), tf.image.rgb_to_grayscale)"),
              plexus::component<Resize>("resize", "0.1.0",
                                        "Bilinear resize to HxW with half-pixel centres "
                                        "(tf.image.resize, no antialias)",
                                        kResizeParams))
