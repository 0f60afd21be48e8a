#include "plexus/core/safetensors.hpp"

#include <bit>
#include <cstring>
#include <nlohmann/json.hpp>

#include "plexus/core/files.hpp"

namespace plexus::core {

std::string encode_safetensors(const std::vector<HostTensor>& tensors,
                               const std::map<std::string, std::string>& metadata) {
    static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");
    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::size_t offset = 0;
    for (const auto& t : tensors) {
        std::vector<std::size_t> shape;
        for (std::size_t i = 0; i < t.shape.rank(); ++i) shape.push_back(t.shape[i]);
        const std::size_t bytes = t.values.size() * sizeof(float);
        header[t.name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    std::string json = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    json.append((8 - json.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
    std::string out(8, '\0');
    std::uint64_t n = json.size();
    std::memcpy(out.data(), &n, 8);
    out += json;
    out.reserve(out.size() + offset);
    for (const auto& t : tensors)
        out.append(reinterpret_cast<const char*>(t.values.data()), t.values.size() * sizeof(float));
    return out;
}

void write_safetensors(const std::filesystem::path& path, const std::vector<HostTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
    write_file_atomic(path, encode_safetensors(tensors, metadata));
}

}  // namespace plexus::core
