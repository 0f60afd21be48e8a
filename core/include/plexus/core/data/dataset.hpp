// In-memory datasets as the trainer sees them, and the rows of one split.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "plexus/shape.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// A labelled dataset: class ids (classification) or float targets (regression, forecasting).
/// Pixels stay uint8 in memory (`u8`) when the source is uint8; float sources use `f32`.
/// Exactly one of the two holds count * sample_shape.numel() values, sample after sample.
/// A regression dataset has target_width > 0, count * target_width `targets` and no labels
/// (labels stays empty, classes 0); a classification dataset has count labels and no targets.
/// (`target = input`, the autoencoder's, is not stored: the trainer copies the prepared input.)
struct Dataset {
    std::string source;  // where it came from, for messages
    Shape sample_shape;  // one sample, without the batch dimension, e.g. [28, 28]
    std::size_t count = 0;
    std::vector<std::uint8_t> u8;
    std::vector<float> f32;
    std::vector<std::uint32_t> labels;  // count class ids
    std::size_t classes = 0;            // max label + 1 (at least)
    std::vector<std::string> class_names;

    // ---- float targets (regression); empty for classification
    std::vector<float> targets;  // count * target_width, sample after sample, in raw units
    std::size_t target_width = 0;
    std::vector<std::string> target_names;  // target_width names (CSV columns, "t0", ...)
    /// Relative series windows: what each sample's targets are relative to (count *
    /// target_width; the last value of the window), added back to a prediction to give the
    /// target's own units. Empty: targets are absolute.
    std::vector<float> target_base;
    /// Series windows: each window's last value of each target column (count * target_width,
    /// raw units), for the naive forecasts a forecast is judged against. Empty otherwise.
    std::vector<float> last_value;
    /// Per sample, what `predict` prints to identify it (a series' timestamp or row index of
    /// the predicted step); empty: the sample's position. key_name heads that column.
    std::vector<std::string> keys;
    std::string key_name;
    /// Time-ordered samples (series windows): splits are chronological, never shuffled.
    bool chronological = false;
    /// Series windows: per sample, the first and the last row of the series it reads (its
    /// window through its target row), so a chronological split can keep every window inside
    /// one part. Empty: sample i is row i.
    std::vector<std::array<std::uint32_t, 2>> spans;
    /// What the reader repaired and the user should hear about (e.g. interpolated gaps), one
    /// line each, starting with "warning: ".
    std::vector<std::string> warnings;

    /// New data to predict, read without labels or targets (csv label=none, npy without
    /// labels=, an image folder without class subfolders): labels and targets stay empty.
    /// Only load_dataset's callers that allow it (predict) ever see one.
    bool unlabeled = false;

    bool has_targets() const { return target_width > 0; }

    std::size_t features() const { return sample_shape.numel(); }
};

/// Rows of a dataset chosen by index (a split), in the order they are visited.
struct Subset {
    const Dataset* data = nullptr;
    std::vector<std::uint32_t> indices;
    std::size_t size() const { return indices.size(); }
};

}  // namespace plexus::core

#pragma GCC visibility pop
