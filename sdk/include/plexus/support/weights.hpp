// What layers with a weight kernel (dense, conv2d) share: the parameters init, stddev, limit,
// l1, l2 and trainable, and kernel initialisation with Keras's names and scales. Glorot &
// Bengio (2010) keep activation variance constant for tanh/sigmoid with
// Var(W) = 2/(fan_in+fan_out); He et al. (2015) double LeCun's 1/fan_in to compensate for
// ReLU zeroing half of its inputs. The normal variants are plain (untruncated) normals.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "plexus/device.hpp"
#include "plexus/export.hpp"
#include "plexus/layer.hpp"
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

/// The `l1` parameter: stored on the kernel's Parameter::l1 for the trainer.
constexpr ParamSpec l1_param() {
    return {"l1", ParamType::real, "0", 0, std::numeric_limits<double>::infinity(), nullptr,
            "L1 penalty weight on the kernel: the trainer adds l1*sum|W| to the loss"};
}
/// The `l2` parameter: stored on the kernel's Parameter::l2 for the trainer.
constexpr ParamSpec l2_param() {
    return {"l2", ParamType::real, "0", 0, std::numeric_limits<double>::infinity(), nullptr,
            "L2 penalty weight on the kernel: the trainer adds l2*sum(W^2) to the loss (Keras "
            "convention; lambda/(2m)*sum(W^2) is l2 = lambda/(2m))"};
}
/// The `trainable` parameter: false marks kernel and bias non-trainable.
constexpr ParamSpec trainable_param() {
    return {"trainable", ParamType::boolean, "true", -std::numeric_limits<double>::infinity(),
            std::numeric_limits<double>::infinity(), nullptr,
            "false freezes kernel and bias (the optimizer skips them; gradients still reach "
            "the previous layer)"};
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

/// A kernel and an optional bias as dense and conv2d hold them: Parameter "kernel" carries
/// l1/l2 (the bias is never regularised, as in Keras); `trainable` applies to both.
class PLEXUS_API KernelWeights {
public:
    /// Reads init, stddev, limit, l1, l2, trainable and use_bias from validated params.
    explicit KernelWeights(const Params& params);

    /// Allocates the kernel of `shape` and its gradient and, with use_bias, a bias of
    /// `bias_size` and its gradient. Initialises the kernel (initialise_kernel with fan_in,
    /// fan_out, seed) and zeroes the bias and both gradients, which a frozen layer never
    /// writes.
    void build(Device& device, const Shape& shape, std::size_t bias_size, double fan_in,
               double fan_out, std::uint64_t seed);
    /// The kernel, then the bias when it is used.
    std::vector<Parameter*> parameters();
    bool built() const { return !kernel.value.empty(); }
    /// Whether backward() computes weight gradients: the kernel's flag, which
    /// Layer::set_trainable may change between steps.
    bool trainable() const { return kernel.trainable; }

    Parameter kernel;
    Parameter bias;
    bool use_bias = true;

private:
    KernelInit init_;
};

}  // namespace plexus::support
