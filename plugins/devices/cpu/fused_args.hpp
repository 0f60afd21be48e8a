// Operand checks for the CPU device's fused kernels: each function below checks one key's
// plexus::FusedArgs and hands the raw pointers to its kernel in fused_batchnorm.hpp or
// fused_optimizer.hpp. The layouts are documented by the layers and optimizers that use them.
// Only plugin.cpp includes this (see there for why the functions are static).
// No include guard: cpu_device.inc includes this once per instruction set.

#include <cstddef>
#include <string>

#include "checks.hpp"
#include "fused_batchnorm.hpp"
#include "fused_optimizer.hpp"
#include "plexus/device.hpp"

namespace plexus_cpu {

// A fused operand that may be absent (nullptr); present, it needs `numel` elements.
static float* optional_operand(const plexus::Device* device, const plexus::Tensor* t,
                               const char* op, const char* what, std::size_t numel) {
    if (!t) return nullptr;
    require_numel(op, what, *t, numel);
    return tensor_data(device, *t, op, what);
}
static float* required_operand(const plexus::Device* device, const plexus::Tensor* t,
                               const char* op, const char* what, std::size_t numel) {
    if (!t) [[unlikely]]
        fail(std::string(op) + ": operand '" + what + "' is missing");
    return optional_operand(device, t, op, what, numel);
}

// inputs {x [n,f], gamma|null, beta|null (, moving_mean, moving_var in infer)};
// outputs train {y, xhat, mean, invstd, moving_mean, moving_var}, infer {y};
// scalars {epsilon, momentum, train (1) or infer (0)}.
static void fused_batchnorm_forward(const plexus::Device* device, const plexus::FusedArgs& args) {
    constexpr const char* op = "batchnorm.forward";
    if (args.scalars.size() != 3 || args.inputs.size() < 3 || !args.inputs[0]) [[unlikely]]
        fail(std::string(op) + ": expected 3 scalars and inputs {x, gamma, beta, ...}");
    const bool train = args.scalars[2] != 0.0f;
    const plexus::Tensor& x = *args.inputs[0];
    const std::size_t n = x.rows(), f = x.cols(), nf = n * f;
    if (args.inputs.size() != (train ? 3u : 5u) || args.outputs.size() != (train ? 6u : 1u))
        [[unlikely]]
        fail(std::string(op) + (train ? ": train mode takes 3 inputs and 6 outputs"
                                      : ": infer mode takes 5 inputs and 1 output"));
    cpu_fused::BatchNormForward a{};
    a.x = tensor_data(device, x, op, "x");
    a.gamma = optional_operand(device, args.inputs[1], op, "gamma", f);
    a.beta = optional_operand(device, args.inputs[2], op, "beta", f);
    a.y = required_operand(device, args.outputs[0], op, "y", nf);
    a.n = n;
    a.f = f;
    a.epsilon = args.scalars[0];
    a.momentum = args.scalars[1];
    if (!train) {
        a.moving_mean = required_operand(device, args.inputs[3], op, "moving_mean", f);
        a.moving_var = required_operand(device, args.inputs[4], op, "moving_variance", f);
        return cpu_fused::batchnorm_forward_infer(a);
    }
    a.xhat = required_operand(device, args.outputs[1], op, "xhat", nf);
    a.mean = required_operand(device, args.outputs[2], op, "mean", f);
    a.invstd = required_operand(device, args.outputs[3], op, "invstd", f);
    a.moving_mean = required_operand(device, args.outputs[4], op, "moving_mean", f);
    a.moving_var = required_operand(device, args.outputs[5], op, "moving_variance", f);
    if (n < 2) [[unlikely]]
        fail(std::string(op) + ": a training batch needs at least 2 rows, got " +
             x.shape().str());
    cpu_fused::batchnorm_forward_train(a);
}

// inputs {dy [n,f], xhat [n,f], gamma|null, invstd [f]}; outputs {dx|null, dgamma, dbeta}.
static void fused_batchnorm_backward(const plexus::Device* device, const plexus::FusedArgs& args) {
    constexpr const char* op = "batchnorm.backward";
    if (args.inputs.size() != 4 || args.outputs.size() != 3 || !args.inputs[0]) [[unlikely]]
        fail(std::string(op) + ": expected inputs {dy, xhat, gamma, invstd} and outputs "
                               "{dx, dgamma, dbeta}");
    const plexus::Tensor& dy = *args.inputs[0];
    const std::size_t n = dy.rows(), f = dy.cols(), nf = n * f;
    cpu_fused::BatchNormBackward a{};
    a.dy = tensor_data(device, dy, op, "dy");
    a.xhat = required_operand(device, args.inputs[1], op, "xhat", nf);
    a.gamma = optional_operand(device, args.inputs[2], op, "gamma", f);
    a.invstd = required_operand(device, args.inputs[3], op, "invstd", f);
    a.dx = optional_operand(device, args.outputs[0], op, "dx", nf);
    a.dgamma = required_operand(device, args.outputs[1], op, "dgamma", f);
    a.dbeta = required_operand(device, args.outputs[2], op, "dbeta", f);
    a.n = n;
    a.f = f;
    cpu_fused::batchnorm_backward(a);
}

// ---- softmax cross-entropy; layout in plugins/losses/softmax_cross_entropy/plugin.cpp

// inputs {pred, target}; outputs {dpred}; scalars {scale}: dpred = (softmax(pred) - target) *
// scale, row by row. dpred may alias pred.
static void fused_softmax_cross_entropy_backward(const plexus::Device* device,
                                                 const plexus::FusedArgs& args) {
    constexpr const char* op = "softmax_cross_entropy.backward";
    if (args.inputs.size() != 2 || args.outputs.size() != 1 || args.scalars.size() != 1 ||
        !args.inputs[0] || !args.inputs[1]) [[unlikely]]
        fail(std::string(op) + ": expected inputs {pred, target}, outputs {dpred} and 1 scalar");
    const plexus::Tensor& pred = *args.inputs[0];
    const std::size_t n = pred.numel(), cols = pred.cols();
    const float* t = required_operand(device, args.inputs[1], op, "target", n);
    float* dx = required_operand(device, args.outputs[0], op, "dpred", n);
    if (n == 0 || cols == 0) return;
    softmax_cross_entropy_backward_rows(tensor_data(device, pred, op, "pred"), t, dx, pred.rows(),
                                        cols, args.scalars[0]);
}

// ---- fused optimizer updates; layouts in plugins/optimizers/{adam,sgd}/README.md

// Below this many parameters an update runs on the calling thread: waking a helper costs
// more than it saves.
constexpr std::size_t kParallelUpdate = 32768;

// Runs `update` (an elementwise kernel taking a cpu_fused::*Update) over [0, a.n), split into
// one contiguous slice per pool thread when the tensor is large. Slices start on 64-byte
// boundaries; every element is computed exactly as on one thread.
template <class Update, class Kernel>
static void run_update(WorkerPool* pool, const Update& a, Kernel update) {
    if (!pool || pool->parts() == 1 || a.n < kParallelUpdate) return update(a);
    auto body = [&](unsigned part, unsigned parts) {
        const std::size_t chunk = (a.n + parts - 1) / parts;
        const std::size_t begin = std::min(a.n, (chunk * part + 15) / 16 * 16);
        const std::size_t end = part + 1 == parts ? a.n : std::min(a.n, (chunk * (part + 1) + 15) / 16 * 16);
        if (begin < end) update(a.slice(begin, end - begin));
    };
    pool->run(body);
}

// inputs {grad}; outputs {value, m, v} or {value, m, v, v_max} (AMSGrad); scalars {lr,
// beta1, beta2, epsilon, bias_correction1, bias_correction2, weight_decay, grad_scale,
// clipvalue}.
static void fused_adam_update(const plexus::Device* device, const plexus::FusedArgs& args,
                              WorkerPool* pool) {
    constexpr const char* op = "adam.update";
    const std::size_t no = args.outputs.size();
    if (args.inputs.size() != 1 || (no != 3 && no != 4) || args.scalars.size() != 9 ||
        !args.inputs[0]) [[unlikely]]
        fail(std::string(op) + ": expected inputs {grad}, outputs {value, m, v[, v_max]} "
                               "and 9 scalars");
    const plexus::Tensor& g = *args.inputs[0];
    const std::size_t n = g.numel();
    const auto s = args.scalars;
    run_update(pool, cpu_fused::AdamUpdate{tensor_data(device, g, op, "grad"),
         required_operand(device, args.outputs[0], op, "value", n),
         required_operand(device, args.outputs[1], op, "m", n),
         required_operand(device, args.outputs[2], op, "v", n),
         no == 4 ? required_operand(device, args.outputs[3], op, "v_max", n) : nullptr, n, s[0],
         s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8]},
               [](const cpu_fused::AdamUpdate& part) { cpu_fused::adam_update(part); });
}

// inputs {grad}; outputs {value, velocity}; scalars {lr, momentum, nesterov (0 or 1),
// weight_decay, grad_scale, clipvalue}.
static void fused_sgd_momentum_update(const plexus::Device* device, const plexus::FusedArgs& args,
                                      WorkerPool* pool) {
    constexpr const char* op = "sgd.momentum_update";
    if (args.inputs.size() != 1 || args.outputs.size() != 2 || args.scalars.size() != 6 ||
        !args.inputs[0]) [[unlikely]]
        fail(std::string(op) + ": expected inputs {grad}, outputs {value, velocity} and "
                               "6 scalars");
    const plexus::Tensor& g = *args.inputs[0];
    const std::size_t n = g.numel();
    const auto s = args.scalars;
    run_update(pool,
               cpu_fused::SgdMomentumUpdate{tensor_data(device, g, op, "grad"),
                                            required_operand(device, args.outputs[0], op, "value", n),
                                            required_operand(device, args.outputs[1], op, "velocity", n),
                                            n, s[0], s[1], s[3], s[2] != 0.0f, s[4], s[5]},
               [](const cpu_fused::SgdMomentumUpdate& part) { cpu_fused::sgd_momentum_update(part); });
}

}  // namespace plexus_cpu
