// Operand checks for the CPU device's fused kernels: each function below checks one key's
// operands (plexus/fused.hpp) and hands the raw pointers to its kernel in fused_batchnorm.hpp
// or fused_optimizer.hpp. Only plugin.cpp includes this (see there for why the functions are
// static).
// No include guard: cpu_device.inc includes this once per instruction set.

#include <cstddef>
#include <string>

#include "checks.hpp"
#include "fused_batchnorm.hpp"
#include "fused_optimizer.hpp"
#include "plexus/device.hpp"
#include "plexus/fused.hpp"

namespace plexus_cpu {

namespace fused = plexus::fused;

// The floats of an operand, which must have `numel` elements.
static float* operand(const plexus::Device* device, const plexus::Tensor& t, const char* op,
                      const char* what, std::size_t numel) {
    require_numel(op, what, t, numel);
    return tensor_data(device, t, op, what);
}
// An operand that may be absent (nullptr).
static float* optional_operand(const plexus::Device* device, const plexus::Tensor* t,
                               const char* op, const char* what, std::size_t numel) {
    return t ? operand(device, *t, op, what, numel) : nullptr;
}

// The operands both batchnorm forward modes share.
template <class Op>
static cpu_fused::BatchNormForward batchnorm_forward_common(const plexus::Device* device,
                                                            const Op& o, const char* op) {
    const std::size_t n = o.x.rows(), f = o.x.cols();
    cpu_fused::BatchNormForward a{};
    a.x = tensor_data(device, o.x, op, "x");
    a.gamma = optional_operand(device, o.gamma, op, "gamma", f);
    a.beta = optional_operand(device, o.beta, op, "beta", f);
    a.y = operand(device, o.y, op, "y", n * f);
    a.moving_mean = operand(device, o.moving_mean, op, "moving_mean", f);
    a.moving_var = operand(device, o.moving_variance, op, "moving_variance", f);
    a.n = n;
    a.f = f;
    a.epsilon = o.epsilon;
    return a;
}

static void fused_batchnorm_forward(const plexus::Device* device,
                                    const fused::BatchNormForwardTrain& o) {
    constexpr const char* op = "batchnorm.forward_train";
    cpu_fused::BatchNormForward a = batchnorm_forward_common(device, o, op);
    a.momentum = o.momentum;
    a.xhat = operand(device, o.xhat, op, "xhat", a.n * a.f);
    a.mean = operand(device, o.mean, op, "mean", a.f);
    a.invstd = operand(device, o.invstd, op, "invstd", a.f);
    if (a.n < 2) [[unlikely]]
        fail(std::string(op) + ": a training batch needs at least 2 rows, got " +
             o.x.shape().str());
    cpu_fused::batchnorm_forward_train(a);
}

static void fused_batchnorm_forward(const plexus::Device* device,
                                    const fused::BatchNormForwardInfer& o) {
    cpu_fused::batchnorm_forward_infer(
        batchnorm_forward_common(device, o, "batchnorm.forward_infer"));
}

static void fused_batchnorm_backward(const plexus::Device* device,
                                     const fused::BatchNormBackward& o) {
    constexpr const char* op = "batchnorm.backward";
    const std::size_t n = o.dy.rows(), f = o.dy.cols(), nf = n * f;
    cpu_fused::BatchNormBackward a{};
    a.dy = tensor_data(device, o.dy, op, "dy");
    a.xhat = operand(device, o.xhat, op, "xhat", nf);
    a.gamma = optional_operand(device, o.gamma, op, "gamma", f);
    a.invstd = operand(device, o.invstd, op, "invstd", f);
    a.dx = optional_operand(device, o.dx, op, "dx", nf);
    a.dgamma = operand(device, o.dgamma, op, "dgamma", f);
    a.dbeta = operand(device, o.dbeta, op, "dbeta", f);
    a.n = n;
    a.f = f;
    cpu_fused::batchnorm_backward(a);
}

static void fused_softmax_cross_entropy_backward(const plexus::Device* device,
                                                 const fused::SoftmaxCrossEntropyBackward& o) {
    constexpr const char* op = "softmax_cross_entropy.backward";
    const std::size_t n = o.pred.numel(), cols = o.pred.cols();
    const float* t = operand(device, o.target, op, "target", n);
    float* dx = operand(device, o.dpred, op, "dpred", n);
    if (n == 0 || cols == 0) return;
    softmax_cross_entropy_backward_rows(tensor_data(device, o.pred, op, "pred"), t, dx,
                                        o.pred.rows(), cols, o.scale);
}

// ---- fused optimizer updates

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

static void fused_adam_update(const plexus::Device* device, const fused::AdamUpdate& o,
                              WorkerPool* pool) {
    constexpr const char* op = "adam.update";
    const std::size_t n = o.grad.numel();
    run_update(pool,
               cpu_fused::AdamUpdate{tensor_data(device, o.grad, op, "grad"),
                                     operand(device, o.value, op, "value", n),
                                     operand(device, o.m, op, "m", n),
                                     operand(device, o.v, op, "v", n),
                                     optional_operand(device, o.v_max, op, "v_max", n), n, o.lr,
                                     o.beta1, o.beta2, o.epsilon, o.bias_correction1,
                                     o.bias_correction2, o.weight_decay, o.grad_scale,
                                     o.clipvalue},
               [](const cpu_fused::AdamUpdate& part) { cpu_fused::adam_update(part); });
}

static void fused_sgd_momentum_update(const plexus::Device* device,
                                      const fused::SgdMomentumUpdate& o, WorkerPool* pool) {
    constexpr const char* op = "sgd.momentum_update";
    const std::size_t n = o.grad.numel();
    run_update(pool,
               cpu_fused::SgdMomentumUpdate{tensor_data(device, o.grad, op, "grad"),
                                            operand(device, o.value, op, "value", n),
                                            operand(device, o.velocity, op, "velocity", n), n,
                                            o.lr, o.momentum, o.weight_decay, o.nesterov,
                                            o.grad_scale, o.clipvalue},
               [](const cpu_fused::SgdMomentumUpdate& part) {
                   cpu_fused::sgd_momentum_update(part);
               });
}

}  // namespace plexus_cpu
