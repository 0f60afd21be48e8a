// Kernel initialisation for layers with weights (dense, conv2d), with Keras's names and
// scales: Glorot & Bengio (2010) keep activation variance constant for tanh/sigmoid with
// Var(W) = 2/(fan_in+fan_out); He et al. (2015) double LeCun's 1/fan_in to compensate for
// ReLU zeroing half of its inputs. The normal variants are plain (untruncated) normals.
#pragma once

#include <cstdint>
#include <limits>

#include "plexus/device.hpp"
#include "plexus/export.hpp"
#include "plexus/params.hpp"
#include "plexus/tensor.hpp"

namespace plexus::support {

/// The `init` parameter (default glorot_uniform, as Keras).
constexpr ParamSpec init_param() {
    return {"init", ParamType::choice, "glorot_uniform",
            -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
            "he_normal|glorot_uniform|he_uniform|glorot_normal|lecun_normal|normal|uniform|zeros",
            "Kernel initialisation: he_* before ReLU, glorot_* before tanh/sigmoid, lecun_normal "
            "before SELU; normal uses stddev, uniform uses limit"};
}
/// The `stddev` parameter of init=normal.
constexpr ParamSpec stddev_param() {
    return {"stddev", ParamType::real, "0.05", 0, std::numeric_limits<double>::infinity(),
            nullptr, "Standard deviation of init=normal"};
}
/// The `limit` parameter of init=uniform.
constexpr ParamSpec limit_param() {
    return {"limit", ParamType::real, "0.05", 0, std::numeric_limits<double>::infinity(),
            nullptr, "init=uniform draws from [-limit, limit)"};
}

enum class Init { he_normal, he_uniform, glorot_normal, glorot_uniform, lecun_normal, normal,
                  uniform, zeros };

/// What init_param(), stddev_param() and limit_param() asked for.
struct KernelInit {
    Init init = Init::glorot_uniform;
    double stddev = 0.05;
    double limit = 0.05;
};

/// Reads `init`, `stddev` and `limit` from validated params (the three specs above).
PLEXUS_API KernelInit parse_kernel_init(const Params& params);

/// Fills `kernel` as `how` says, with fan_in / fan_out as Keras counts them for the layer
/// (dense: inputs / units; conv2d: C*kh*kw / filters*kh*kw). Draws use the device's
/// counter-based generator with (seed, counter 0), so the same seed gives the same weights.
PLEXUS_API void initialise_kernel(Device& device, const Tensor& kernel, const KernelInit& how,
                                  double fan_in, double fan_out, std::uint64_t seed);

}  // namespace plexus::support
