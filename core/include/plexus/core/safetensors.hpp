// Writing weights in the safetensors layout (https://github.com/huggingface/safetensors):
// an 8-byte little-endian header length, a JSON header (dtype, shape, data_offsets per
// tensor, free-form "__metadata__" strings), then the raw little-endian data.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "plexus/shape.hpp"

#pragma GCC visibility push(default)

namespace plexus::core {

struct HostTensor {
    std::string name;
    Shape shape;
    std::vector<float> values;  // shape.numel() floats
};

/// Serialises tensors (F32) and metadata into the safetensors byte layout.
std::string encode_safetensors(const std::vector<HostTensor>& tensors,
                               const std::map<std::string, std::string>& metadata);

/// Writes encode_safetensors(...) to `path` atomically.
void write_safetensors(const std::filesystem::path& path, const std::vector<HostTensor>& tensors,
                       const std::map<std::string, std::string>& metadata);

}  // namespace plexus::core

#pragma GCC visibility pop
