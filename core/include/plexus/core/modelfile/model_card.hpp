// What a model file says about its model, besides the weights: the architecture, loss and
// transforms as written in the experiment, the raw sample shape, the uint8 divisor and the
// classes. Stored as safetensors metadata (string values, lists as JSON); the one type both
// the run that writes a model and the commands that load it use.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "plexus/shape.hpp"

#pragma GCC visibility push(default)

namespace plexus::core {

struct ModelCard {
    std::string experiment;               // the experiment's name
    std::vector<std::string> layers;      // component lines, in order
    std::string loss;                     // component line
    std::vector<std::string> transforms;  // component lines, in order
    Shape input_shape;                    // one raw sample, before the transforms
    float divide = 1.0f;                  // uint8 samples are divided by this
    std::size_t classes = 0;
    std::vector<std::string> class_names;
    /// What the model predicts: "classes" (class ids; files without the key), "values" (float
    /// targets, in target_names' units once target_transform is inverted) or "input" (an
    /// autoencoder). classes is 0 unless "classes".
    std::string target = "classes";
    std::vector<std::string> target_names;  // "values": one per output column
    std::string target_transform = "none";  // "values": TargetScaler kind; state in the weights
    std::string key_name;                   // what the training data called its sample keys

    /// The safetensors metadata: format "plexus", plexus_version and every field above.
    std::map<std::string, std::string> to_metadata() const;
    /// Reads metadata written by to_metadata(). Throws DataError naming `file` for a missing
    /// key, a value that does not parse, a dimension of 0 or above 2^24, or a divisor that is
    /// not a positive finite number.
    static ModelCard from_metadata(const std::map<std::string, std::string>& metadata,
                                   const std::string& file);
};

}  // namespace plexus::core

#pragma GCC visibility pop
