// What every augmentation shares: train mode only (infer mode copies), one random stream per
// sample keyed by (seed, epoch, sample id, component), and for the geometric ones a bilinear
// warp through a randomly drawn affine map.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "plexus/support/image.hpp"
#include "plexus/support/value_range.hpp"
#include "plexus/transform.hpp"
#include "random.hpp"

namespace plexus::transforms {

using support::about_centre;
using support::Affine;
using support::clip;
using support::fill_param;
using support::fill_value_param;
using support::FillSpec;
using support::image_dims;
using support::ImageDims;
using support::parse_fill;
using support::parse_range;
using support::range_param;
using support::rotation;
using support::ValueRange;
using support::warp;

/// FNV-1a of a component name: the salt that gives each augmentation its own stream.
constexpr std::uint64_t name_salt(const char* name) {
    std::uint64_t h = 0xCBF29CE484222325ULL;
    for (; *name; ++name) h = (h ^ static_cast<unsigned char>(*name)) * 0x100000001B3ULL;
    return h;
}

class Augmentation : public Transform {
public:
    /// `who` names the component (errors, salt); `images_only` rejects non-image samples.
    Augmentation(const char* who, bool images_only)
        : who_(who), salt_(name_salt(who)), images_only_(images_only) {}

    Shape build(const Shape& sample) override {
        numel_ = sample.numel();
        if (images_only_ || sample.rank() == 2 || sample.rank() == 3)
            dims_ = image_dims(sample, who_);
        else
            dims_ = {1, 1, numel_};
        return sample;
    }

    bool train_only() const override { return true; }

    void apply(const float* in, float* out, std::size_t rows, Mode mode,
               const ApplyContext& context) const override {
        if (mode == Mode::infer) {
            std::copy_n(in, rows * numel_, out);
            return;
        }
        for (std::size_t r = 0; r < rows; ++r) {
            const std::uint64_t id = context.sample_ids ? context.sample_ids[r] : r;
            SampleRandom random(context.seed, context.epoch, id, salt_);
            augment(in + r * numel_, out + r * numel_, random);
        }
    }

protected:
    /// Writes one augmented sample of dims() to `out`, drawing only from `random`.
    virtual void augment(const float* in, float* out, SampleRandom& random) const = 0;

    const ImageDims& dims() const { return dims_; }
    std::size_t numel() const { return numel_; }

private:
    const char* who_;
    std::uint64_t salt_;
    bool images_only_;
    ImageDims dims_;  // samples that are not images: one channel of 1 × numel_
    std::size_t numel_ = 0;
};

/// Rotate, shift and zoom: an affine map drawn per sample, then a bilinear warp with the
/// `fill` and `fill_value` parameters.
class GeometricAugmentation : public Augmentation {
public:
    GeometricAugmentation(const char* who, const Params& params)
        : Augmentation(who, true), fill_(parse_fill(params)) {}

protected:
    /// The output-to-input map for one sample.
    virtual Affine draw(SampleRandom& random) const = 0;

    void augment(const float* in, float* out, SampleRandom& random) const override {
        warp(in, dims(), out, dims().height, dims().width, draw(random), fill_);
    }

private:
    FillSpec fill_;
};

}  // namespace plexus::transforms
