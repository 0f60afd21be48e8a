#include "plexus/support/initializer.hpp"

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

}  // namespace plexus::support
