// In-memory datasets as the trainer sees them, and the rows of one split.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plexus/shape.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// A labelled classification dataset. Pixels stay uint8 in memory (`u8`) when the source is
/// uint8; float sources use `f32`. Exactly one of the two holds count * sample_shape.numel()
/// values, sample after sample.
struct Dataset {
    std::string source;  // where it came from, for messages
    Shape sample_shape;  // one sample, without the batch dimension, e.g. [28, 28]
    std::size_t count = 0;
    std::vector<std::uint8_t> u8;
    std::vector<float> f32;
    std::vector<std::uint32_t> labels;  // count class ids
    std::size_t classes = 0;            // max label + 1 (at least)
    std::vector<std::string> class_names;

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
