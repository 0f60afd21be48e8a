#include "plexus/support/weights.hpp"

#include <cmath>
#include <string>

namespace plexus::support {

KernelInit parse_kernel_init(const Params& params) {
    const std::string& name = params.get_string("init");
    KernelInit k;
    k.stddev = params.get_real("stddev");
    k.limit = params.get_real("limit");
    if (name == "he_normal") k.init = Init::he_normal;
    else if (name == "he_uniform") k.init = Init::he_uniform;
    else if (name == "glorot_normal") k.init = Init::glorot_normal;
    else if (name == "lecun_normal") k.init = Init::lecun_normal;
    else if (name == "normal") k.init = Init::normal;
    else if (name == "uniform") k.init = Init::uniform;
    else if (name == "zeros") k.init = Init::zeros;
    else k.init = Init::glorot_uniform;  // the spec admits nothing else
    return k;
}

void initialise_kernel(Device& device, const Tensor& kernel, const KernelInit& how,
                       double fan_in, double fan_out, std::uint64_t seed) {
    const auto normal = [&](double stddev) {
        device.random(Distribution::normal, seed, 0, kernel, 0.0f, static_cast<float>(stddev));
    };
    const auto uniform = [&](double limit) {
        const auto l = static_cast<float>(limit);
        device.random(Distribution::uniform, seed, 0, kernel, -l, l);
    };
    switch (how.init) {
        case Init::he_normal: return normal(std::sqrt(2.0 / fan_in));
        case Init::he_uniform: return uniform(std::sqrt(6.0 / fan_in));
        case Init::glorot_normal: return normal(std::sqrt(2.0 / (fan_in + fan_out)));
        case Init::glorot_uniform: return uniform(std::sqrt(6.0 / (fan_in + fan_out)));
        case Init::lecun_normal: return normal(std::sqrt(1.0 / fan_in));
        case Init::normal: return normal(how.stddev);
        case Init::uniform: return uniform(how.limit);
        case Init::zeros: return device.fill(kernel, 0.0f);
    }
}

KernelWeights::KernelWeights(const Params& params)
    : use_bias(params.get_bool("use_bias")), init_(parse_kernel_init(params)) {
    kernel.name = "kernel";
    bias.name = "bias";
    kernel.l1 = static_cast<float>(params.get_real("l1"));
    kernel.l2 = static_cast<float>(params.get_real("l2"));
    kernel.trainable = params.get_bool("trainable");
    bias.trainable = kernel.trainable;
}

void KernelWeights::build(Device& device, const Shape& shape, std::size_t bias_size,
                          double fan_in, double fan_out, std::uint64_t seed) {
    kernel.value = device.alloc(shape);
    kernel.grad = device.alloc(shape);
    initialise_kernel(device, kernel.value, init_, fan_in, fan_out, seed);
    device.fill(kernel.grad, 0.0f);
    if (use_bias) {
        bias.value = device.alloc({bias_size});
        bias.grad = device.alloc({bias_size});
        device.fill(bias.value, 0.0f);
        device.fill(bias.grad, 0.0f);
    }
}

std::vector<Parameter*> KernelWeights::parameters() {
    if (use_bias) return {&kernel, &bias};
    return {&kernel};
}

}  // namespace plexus::support
