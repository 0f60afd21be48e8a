// Data augmentation, one library (geometric.hpp, photometric.hpp): random changes applied to
// training samples only, redrawn every epoch, that leave a sample's class unchanged, so the
// model sees more varied data than the training split holds (Simard, Steinkraus & Platt,
// 2003, "Best practices for convolutional neural networks applied to visual document
// analysis"). Each sample's draw depends only on (seed, epoch, sample id) — see random.hpp.
#include "geometric.hpp"
#include "photometric.hpp"
#include "plexus/plexus.hpp"

using plexus::component;
using namespace plexus::transforms;

PLEXUS_PLUGIN(
    component<Flip>("flip", "0.1.0", "Random horizontal/vertical flips (Keras RandomFlip)",
                    kFlipParams),
    component<Rotate>("rotate", "0.1.0",
                      "Random rotation about the centre, bilinear (Keras RandomRotation)",
                      kRotateParams),
    component<Shift>("shift", "0.1.0", "Random translation, bilinear (Keras RandomTranslation)",
                     kShiftParams),
    component<Zoom>("zoom", "0.1.0", "Random zoom about the centre, bilinear (Keras RandomZoom)",
                    kZoomParams),
    component<Brightness>("brightness", "0.1.0",
                          "Random brightness offset per sample, clipped (Keras RandomBrightness)",
                          kBrightnessParams),
    component<Contrast>("contrast", "0.1.0",
                        "Random contrast per image about each channel's mean (Keras "
                        "RandomContrast)",
                        kContrastParams),
    component<Noise>("noise", "0.1.0", "Additive Gaussian noise (Keras GaussianNoise)",
                     kNoiseParams))
