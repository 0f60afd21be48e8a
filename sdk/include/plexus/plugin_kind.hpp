#pragma once

#include <cstdint>

namespace plexus {

/// The kinds of component a plugin can provide; also the plugin folder names (plural).
enum class Kind : std::uint32_t {
    layer,
    optimizer,
    loss,
    metric,
    callback,
    device,
    transform,
    sampler,
    pruner,
};

/// "layer", "optimizer", ...; nullptr for an unknown value.
inline const char* kind_name(Kind kind) {
    switch (kind) {
        case Kind::layer: return "layer";
        case Kind::optimizer: return "optimizer";
        case Kind::loss: return "loss";
        case Kind::metric: return "metric";
        case Kind::callback: return "callback";
        case Kind::device: return "device";
        case Kind::transform: return "transform";
        case Kind::sampler: return "sampler";
        case Kind::pruner: return "pruner";
    }
    return nullptr;
}

}  // namespace plexus
