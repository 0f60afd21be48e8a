// libFuzzer target: a model file's bytes through the safetensors decoder and the model card
// (docs/fuzzing.md). A plexus::Error is the expected answer to bad bytes; anything else that
// escapes, and any sanitizer report, is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "plexus/core/modelfile/model_card.hpp"
#include "plexus/core/modelfile/safetensors.hpp"
#include "plexus/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const auto file = plexus::core::decode_safetensors(
            std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.safetensors");
        plexus::core::ModelCard::from_metadata(file.metadata, "fuzz.safetensors");
    } catch (const plexus::Error&) {
    }
    return 0;
}
