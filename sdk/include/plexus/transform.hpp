// Transform: data preparation on the host, one batch at a time, fitted on the training split
// only and saved with the model so evaluate and predict prepare data exactly as training did.
//
// Transforms run on the host, on the trainer's background thread, while the device computes
// the previous step (the same place a PyTorch DataLoader worker sits). Batches are float32,
// sample after sample; one sample's shape has no batch dimension: [F] for feature vectors,
// [H, W] for one-channel images and [C, H, W] for images with channels (IDX images are
// [H, W], an image folder gives [C, H, W]).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plexus/export.hpp"
#include "plexus/layer.hpp"
#include "plexus/plugin_kind.hpp"
#include "plexus/shape.hpp"

namespace plexus {

/// Named host values a transform saves with the model (fitted means, scales, ...).
struct TransformState {
    std::string name;  // "mean", "scale", ... (the model prefixes "transformI.")
    Shape shape;
    std::vector<float> values;  // shape.numel() values
};

/// Where the samples of a batch come from, for reproducible augmentation: the same seed,
/// epoch and sample id give the same random draw whatever the batch layout or thread.
struct ApplyContext {
    std::uint64_t seed = 0;                   // the run's seed, mixed with the transform's index
    std::uint64_t epoch = 0;                  // 0-based training epoch
    const std::uint32_t* sample_ids = nullptr;  // rows ids (indices into the dataset); may be null
};

class PLEXUS_API Transform {
public:
    using Interface = Transform;
    static constexpr Kind kKind = Kind::transform;

    virtual ~Transform();

    /// Prepares for samples of `sample` shape and returns the shape of one output sample.
    /// Throws ShapeError saying which shapes it accepts (e.g. grayscale needs 3 channels).
    virtual Shape build(const Shape& sample) = 0;

    /// True for augmentation: applied in train mode only; in infer mode the pipeline skips
    /// it (so its output shape must equal its input shape).
    virtual bool train_only() const;

    /// True when the transform learns from the training split (scalers). The pipeline then
    /// calls fit_begin(), fit_batch() over every training sample (already through the
    /// transforms before this one, in infer mode), and fit_end() — never on validation or
    /// test samples.
    virtual bool needs_fit() const;
    virtual void fit_begin();
    virtual void fit_batch(const float* samples, std::size_t rows);
    /// Finishes fitting; returns warnings for the user (e.g. a zero-variance feature).
    virtual std::vector<std::string> fit_end();

    /// Writes the transformed `rows` samples of `in` to `out` (distinct buffers of the input
    /// and output shapes from build()). Augmentation draws its randomness from `context`
    /// only, so apply() is const and safe to call from the preparation thread. Allocates
    /// nothing.
    virtual void apply(const float* in, float* out, std::size_t rows, Mode mode,
                       const ApplyContext& context) const = 0;

    /// Fitted values saved with the model; load_state() puts them back (after build()).
    /// Throws DataError when a saved state does not fit this transform.
    virtual std::vector<TransformState> state() const;
    virtual void load_state(const std::vector<TransformState>& state);
};

}  // namespace plexus
