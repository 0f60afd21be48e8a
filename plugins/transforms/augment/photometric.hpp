// Value augmentations with the semantics of Keras's RandomBrightness, RandomContrast and
// GaussianNoise: random changes of lighting and sensor noise that should not change a
// sample's class, so the model learns to ignore them.
#pragma once

#include <limits>

#include "augmentation.hpp"

namespace plexus::transforms {

namespace detail {
constexpr double kInf = std::numeric_limits<double>::infinity();
}

constexpr ParamSpec kBrightnessParams[] = {
    {"delta", ParamType::real, "0.1", 0, detail::kInf, nullptr,
     "Largest change: one offset per sample, uniform in [-delta, delta], added to every value"},
    range_param("Values are clipped to this interval 'low,high' afterwards"),
};

// RandomBrightness: adds one uniform offset to a whole sample, then clips to the value range.
// Keras's `factor` is a fraction of the value range; for pixels in [0, 1] it equals delta.
class Brightness final : public Augmentation {
public:
    explicit Brightness(const Params& params)
        : Augmentation("brightness", false),
          delta_(params.get_real("delta")),
          range_(parse_range(params.get_string("range"), "brightness")) {}

protected:
    void augment(const float* in, float* out, SampleRandom& random) const override {
        const auto offset = static_cast<float>(random.uniform(-delta_, delta_));
        for (std::size_t i = 0, n = numel(); i < n; ++i) out[i] = clip(in[i] + offset, range_);
    }

private:
    double delta_;
    ValueRange range_;
};

constexpr ParamSpec kContrastParams[] = {
    {"factor", ParamType::real, "0.2", 0, 1, nullptr,
     "Contrast factor c uniform in [1-factor, 1+factor] per sample; each channel becomes "
     "(x - mean)·c + mean"},
    range_param("Values are clipped to this interval 'low,high' afterwards"),
};

// RandomContrast: scales each channel's deviations from its mean by one factor per image
// (tf.image.adjust_contrast), then clips to the value range.
class Contrast final : public Augmentation {
public:
    explicit Contrast(const Params& params)
        : Augmentation("contrast", true),
          factor_(params.get_real("factor")),
          range_(parse_range(params.get_string("range"), "contrast")) {}

protected:
    void augment(const float* in, float* out, SampleRandom& random) const override {
        const auto c = static_cast<float>(random.uniform(1.0 - factor_, 1.0 + factor_));
        const std::size_t plane = dims().plane();
        for (std::size_t ch = 0; ch < dims().channels; ++ch) {
            const float* x = in + ch * plane;
            float* y = out + ch * plane;
            double sum = 0;
            for (std::size_t i = 0; i < plane; ++i) sum += x[i];
            const auto mean = static_cast<float>(sum / static_cast<double>(plane));
            for (std::size_t i = 0; i < plane; ++i) y[i] = clip((x[i] - mean) * c + mean, range_);
        }
    }

private:
    double factor_;
    ValueRange range_;
};

constexpr ParamSpec kNoiseParams[] = {
    {"stddev", ParamType::real, "0.05", 0, detail::kInf, nullptr,
     "Standard deviation of the zero-mean Gaussian noise added to every value"},
    {"clip", ParamType::boolean, "false", 0, 0, nullptr, "Clip the result to range"},
    range_param("Interval 'low,high' used when clip=true"),
};

// GaussianNoise: adds independent N(0, stddev²) noise to every value; works on any sample.
class Noise final : public Augmentation {
public:
    explicit Noise(const Params& params)
        : Augmentation("noise", false),
          stddev_(params.get_real("stddev")),
          clip_(params.get_bool("clip")),
          range_(parse_range(params.get_string("range"), "noise")) {}

protected:
    void augment(const float* in, float* out, SampleRandom& random) const override {
        for (std::size_t i = 0, n = numel(); i < n; ++i) {
            const float v = in[i] + static_cast<float>(stddev_ * random.normal());
            out[i] = clip_ ? clip(v, range_) : v;
        }
    }

private:
    double stddev_;
    bool clip_;
    ValueRange range_;
};

}  // namespace plexus::transforms
