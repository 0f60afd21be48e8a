// Test helpers for plugin authors: the same loaders, gradient checker and device conformance
// table (plexus/testing/device_check.hpp) the project's own tests use, so an out-of-tree
// plugin is tested exactly like ours.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "plexus/device.hpp"
#include "plexus/export.hpp"
#include "plexus/layer.hpp"
#include "plexus/loss.hpp"
#include "plexus/plugin_kind.hpp"
#include "plexus/testing/device_check.hpp"

namespace plexus::testing {

/// Creates a component from a spec line such as "dense units=4 init=glorot_uniform",
/// searching `plugin_paths` first, then the default plugin search path. Throws PluginError
/// or ParamError. The result keeps its library loaded.
PLEXUS_API std::shared_ptr<void> load_component(Kind kind, const std::string& spec,
                                               const std::vector<std::string>& plugin_paths = {});

/// Typed form: load<Layer>("relu"), load<Device>("cpu").
template <class T>
std::shared_ptr<T> load(const std::string& spec, const std::vector<std::string>& paths = {}) {
    auto p = load_component(T::kKind, spec, paths);
    return std::shared_ptr<T>(p, static_cast<T*>(p.get()));
}

/// Uploads host values into a new tensor of `shape` on `device`.
PLEXUS_API Tensor make_tensor(Device& device, const Shape& shape, const std::vector<float>& values);
/// Downloads a tensor into host values.
PLEXUS_API std::vector<float> to_host(Device& device, const Tensor& t);

struct GradCheckOptions {
    float epsilon = 1e-2f;        // central-difference step in float32
    std::uint64_t seed = 1;       // inputs and the random projection of the output
    Mode mode = Mode::train;
    std::size_t max_checks = 64;  // elements checked per tensor (spread evenly)
};

struct GradCheckResult {
    double max_rel_error = 0.0;  // |analytic - numeric| / max(|analytic|, |numeric|, 1e-3)
    std::string worst;           // "input[3]", "param kernel[17]", ...
    std::size_t checked = 0;     // number of elements compared
};

/// Builds `layer` for inputs of `input_shape` on `device` and compares backward() with
/// central differences of L = sum(y * r) for a random r, for the input and every parameter.
PLEXUS_API GradCheckResult check_layer(Layer& layer, Device& device, const Shape& input_shape,
                                       const GradCheckOptions& options = {});

/// Same for a loss: compares backward() with central differences of forward() at random
/// predictions of `pred_shape` and the given host targets (pred_shape.numel() values).
PLEXUS_API GradCheckResult check_loss(Loss& loss, Device& device, const Shape& pred_shape,
                                      const std::vector<float>& target,
                                      const GradCheckOptions& options = {});

}  // namespace plexus::testing
