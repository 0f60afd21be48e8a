// Weights in the safetensors layout (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length, a JSON header (dtype, shape, data_offsets per tensor,
// free-form "__metadata__" strings), then the raw little-endian data.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "plexus/core/data/host_tensor.hpp"

#pragma GCC visibility push(default)

namespace plexus::core {

/// Serialises tensors (F32) and metadata into the safetensors byte layout.
std::string encode_safetensors(const std::vector<HostTensor>& tensors,
                               const std::map<std::string, std::string>& metadata);

/// Writes encode_safetensors(...) to `path` atomically.
void write_safetensors(const std::filesystem::path& path, const std::vector<HostTensor>& tensors,
                       const std::map<std::string, std::string>& metadata);

struct SafetensorsFile {
    std::vector<HostTensor> tensors;  // in data-offset order
    std::map<std::string, std::string> metadata;
};

/// Parses the safetensors bytes of a file called `name` (used only in messages). F32 is read
/// as is; F64, F16 and BF16 are converted to float32. Everything is validated before anything
/// is allocated: the header (at most 100 MB, a JSON object without duplicate keys), each
/// entry's dtype, shape (rank <= Shape::kMaxRank) and data_offsets, and that the tensors tile
/// the data buffer exactly, with no gap, overlap or trailing byte. Throws plexus::DataError
/// with one line "NAME: what is wrong (what to do)".
SafetensorsFile decode_safetensors(std::string_view bytes, const std::string& name);

/// Reads the whole file at `path` and decodes it; messages name `path`.
SafetensorsFile read_safetensors(const std::filesystem::path& path);

}  // namespace plexus::core

#pragma GCC visibility pop
