// Geometric augmentations with the semantics of Keras's preprocessing layers RandomFlip,
// RandomRotation, RandomTranslation and RandomZoom: random flips, rotations, shifts and zooms
// that teach a model that an object's class does not depend on where or how it lies in the
// image (Simard, Steinkraus & Platt, 2003; Krizhevsky, Sutskever & Hinton, 2012).
#pragma once

#include <limits>
#include <string>

#include "augmentation.hpp"

namespace plexus::transforms {

constexpr ParamSpec kFlipParams[] = {
    {"mode", ParamType::choice, "horizontal", 0, 0, "horizontal|vertical|horizontal_and_vertical",
     "Which flips: horizontal (mirror left-right), vertical (upside down) or both, each drawn "
     "independently"},
    {"p", ParamType::real, "0.5", 0, 1, nullptr, "Probability of each flip"},
};

// RandomFlip: mirrors the image left-right and/or top-bottom, each with probability p.
class Flip final : public Augmentation {
public:
    explicit Flip(const Params& params)
        : Augmentation("flip", true),
          horizontal_(params.get_string("mode") != "vertical"),
          vertical_(params.get_string("mode") != "horizontal"),
          p_(params.get_real("p")) {}

protected:
    void augment(const float* in, float* out, SampleRandom& random) const override {
        const bool flip_x = horizontal_ && random.bernoulli(p_);
        const bool flip_y = vertical_ && random.bernoulli(p_);
        const ImageDims& d = dims();
        for (std::size_t c = 0; c < d.channels; ++c) {
            for (std::size_t y = 0; y < d.height; ++y) {
                const float* src = in + (c * d.height + (flip_y ? d.height - 1 - y : y)) * d.width;
                float* dst = out + (c * d.height + y) * d.width;
                if (flip_x)
                    std::reverse_copy(src, src + d.width, dst);
                else
                    std::copy_n(src, d.width, dst);
            }
        }
    }

private:
    bool horizontal_, vertical_;
    double p_;
};

constexpr ParamSpec kRotateParams[] = {
    {"degrees", ParamType::real, "15", 0, 180, nullptr,
     "Largest rotation: the angle is uniform in [-degrees, degrees], counter-clockwise positive"},
    fill_param(),
    fill_value_param(),
};

// RandomRotation: rotates about the image centre by a uniform angle.
class Rotate final : public GeometricAugmentation {
public:
    explicit Rotate(const Params& params)
        : GeometricAugmentation("rotate", params),
          radians_(params.get_real("degrees") * 3.14159265358979323846 / 180.0) {}

protected:
    Affine draw(SampleRandom& random) const override {
        return rotation(dims(), random.uniform(-1.0, 1.0) * radians_);
    }

private:
    double radians_;
};

constexpr ParamSpec kShiftParams[] = {
    {"width", ParamType::real, "0.1", 0, 1, nullptr,
     "Largest horizontal shift as a fraction of the width: uniform in [-width, width]·W"},
    {"height", ParamType::real, "0.1", 0, 1, nullptr,
     "Largest vertical shift as a fraction of the height: uniform in [-height, height]·H"},
    fill_param(),
    fill_value_param(),
};

// RandomTranslation: moves the content by a uniform fraction of the width and height.
class Shift final : public GeometricAugmentation {
public:
    explicit Shift(const Params& params)
        : GeometricAugmentation("shift", params),
          width_(params.get_real("width")),
          height_(params.get_real("height")) {}

protected:
    Affine draw(SampleRandom& random) const override {
        const double dy = random.uniform(-1.0, 1.0) * height_ * static_cast<double>(dims().height);
        const double dx = random.uniform(-1.0, 1.0) * width_ * static_cast<double>(dims().width);
        return about_centre(dims(), 1, 0, 0, 1, dx, dy);
    }

private:
    double width_, height_;
};

constexpr ParamSpec kZoomParams[] = {
    {"factor", ParamType::real, "0.1", 0, 1, nullptr,
     "Zoom range: each output pixel reads the input at s·(p − centre) + centre with s uniform "
     "in [1-factor, 1+factor]; s > 1 zooms out",
     kMaxExclusive},
    {"independent", ParamType::boolean, "false", 0, 0, nullptr,
     "Draw the height and width scales separately (stretches the aspect ratio)"},
    fill_param(),
    fill_value_param(),
};

// RandomZoom: scales about the image centre, the same scale on both axes unless independent.
class Zoom final : public GeometricAugmentation {
public:
    explicit Zoom(const Params& params)
        : GeometricAugmentation("zoom", params),
          factor_(params.get_real("factor")),
          independent_(params.get_bool("independent")) {}

protected:
    Affine draw(SampleRandom& random) const override {
        const double sy = random.uniform(1.0 - factor_, 1.0 + factor_);
        const double sx = independent_ ? random.uniform(1.0 - factor_, 1.0 + factor_) : sy;
        return about_centre(dims(), sx, 0, 0, sy);
    }

private:
    double factor_;
    bool independent_;
};

}  // namespace plexus::transforms
