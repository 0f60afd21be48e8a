// Operand checks and launches of the OpenCL device's fused kernels. Each key's layout is
// documented where it is used (plugins/layers/batchnorm, plugins/losses/
// softmax_cross_entropy, plugins/optimizers/{adam,sgd}) and matches the CPU device's.
#include <cmath>
#include <limits>
#include <string>

#include "opencl_device.hpp"

namespace plexus_opencl {

using plexus::FusedArgs;
using plexus::Tensor;

namespace {
cl_uint u32(std::size_t n) { return static_cast<cl_uint>(n); }

// clipvalue <= 0 means no clipping: an infinite limit.
float clip_limit(float clipvalue) {
    return clipvalue > 0.0f ? clipvalue : std::numeric_limits<float>::infinity();
}
}  // namespace

// inputs {x [n,f], gamma|null, beta|null (, moving_mean, moving_var in infer)};
// outputs train {y, xhat, mean, invstd, moving_mean, moving_var}, infer {y};
// scalars {epsilon, momentum, train (1) or infer (0)}.
void OpenClDevice::fused_batchnorm_forward(const FusedArgs& args) {
    const char* op = "batchnorm.forward";
    if (args.scalars.size() != 3 || args.inputs.size() < 3 || !args.inputs[0]) [[unlikely]]
        fail(std::string(op) + ": expected 3 scalars and inputs {x, gamma, beta, ...}");
    const bool train = args.scalars[2] != 0.0f;
    const Tensor& x = *args.inputs[0];
    const std::size_t n = x.rows(), f = x.cols(), nf = n * f;
    if (args.inputs.size() != (train ? 3u : 5u) || args.outputs.size() != (train ? 6u : 1u))
        [[unlikely]]
        fail(std::string(op) + (train ? ": train mode takes 3 inputs and 6 outputs"
                                      : ": infer mode takes 5 inputs and 1 output"));
    const auto operand = [&](const Tensor* t, const char* what, std::size_t numel,
                             bool required) -> View {
        if (!t) {
            if (required) [[unlikely]]
                fail(std::string(op) + ": operand '" + what + "' is missing");
            return view(x, op, "x");  // a placeholder the kernel does not read
        }
        require_numel(op, what, *t, numel);
        return view(*t, op, what);
    };
    const View vx = view(x, op, "x");
    const View gamma = operand(args.inputs[1], "gamma", f, false);
    const View beta = operand(args.inputs[2], "beta", f, false);
    const View y = operand(args.outputs[0], "y", nf, true);
    const cl_int has_gamma = args.inputs[1] != nullptr, has_beta = args.inputs[2] != nullptr;
    View xhat = vx, mean = vx, invstd = vx, moving_mean = vx, moving_var = vx;
    if (train) {
        xhat = operand(args.outputs[1], "xhat", nf, true);
        mean = operand(args.outputs[2], "mean", f, true);
        invstd = operand(args.outputs[3], "invstd", f, true);
        moving_mean = operand(args.outputs[4], "moving_mean", f, true);
        moving_var = operand(args.outputs[5], "moving_variance", f, true);
        if (n < 2) [[unlikely]]
            fail(std::string(op) + ": a training batch needs at least 2 rows, got " +
                 x.shape().str());
    } else {
        moving_mean = operand(args.inputs[3], "moving_mean", f, true);
        moving_var = operand(args.inputs[4], "moving_variance", f, true);
    }
    launch_1d(Kernel::batchnorm_forward, op, f, vx, gamma, has_gamma, beta, has_beta, y, xhat,
              mean, invstd, moving_mean, moving_var, u32(n), u32(f), args.scalars[0],
              args.scalars[1], cl_int{train});
}

// inputs {dy [n,f], xhat [n,f], gamma|null, invstd [f]}; outputs {dx|null, dgamma, dbeta}.
void OpenClDevice::fused_batchnorm_backward(const FusedArgs& args) {
    const char* op = "batchnorm.backward";
    if (args.inputs.size() != 4 || args.outputs.size() != 3 || !args.inputs[0]) [[unlikely]]
        fail(std::string(op) + ": expected inputs {dy, xhat, gamma, invstd} and outputs "
                               "{dx, dgamma, dbeta}");
    const Tensor& dy = *args.inputs[0];
    const std::size_t n = dy.rows(), f = dy.cols(), nf = n * f;
    const View vdy = view(dy, op, "dy");
    const auto operand = [&](const Tensor* t, const char* what, std::size_t numel,
                             bool required) -> View {
        if (!t) {
            if (required) [[unlikely]]
                fail(std::string(op) + ": operand '" + what + "' is missing");
            return vdy;  // a placeholder the kernel does not read
        }
        require_numel(op, what, *t, numel);
        return view(*t, op, what);
    };
    const View xhat = operand(args.inputs[1], "xhat", nf, true);
    const View gamma = operand(args.inputs[2], "gamma", f, false);
    const View invstd = operand(args.inputs[3], "invstd", f, true);
    const View dx = operand(args.outputs[0], "dx", nf, false);
    const View dgamma = operand(args.outputs[1], "dgamma", f, true);
    const View dbeta = operand(args.outputs[2], "dbeta", f, true);
    launch_1d(Kernel::batchnorm_backward, op, f, vdy, xhat, gamma,
              cl_int{args.inputs[2] != nullptr}, invstd, dx, cl_int{args.outputs[0] != nullptr},
              dgamma, dbeta, u32(n), u32(f));
}

// inputs {pred [n,c], target [n,c]}; outputs {dpred [n,c]}; scalars {scale}:
// dpred = (softmax(pred) - target) * scale.
void OpenClDevice::fused_softmax_cross_entropy_backward(const FusedArgs& args) {
    const char* op = "softmax_cross_entropy.backward";
    if (args.inputs.size() != 2 || args.outputs.size() != 1 || args.scalars.size() != 1 ||
        !args.inputs[0] || !args.inputs[1] || !args.outputs[0]) [[unlikely]]
        fail(std::string(op) + ": expected inputs {pred, target}, outputs {dpred} and 1 scalar");
    const Tensor& pred = *args.inputs[0];
    const std::size_t rows = pred.rows(), cols = pred.cols();
    require_numel(op, "target", *args.inputs[1], pred.numel());
    require_numel(op, "dpred", *args.outputs[0], pred.numel());
    const View vp = view(pred, op, "pred"), vt = view(*args.inputs[1], op, "target"),
               vd = view(*args.outputs[0], op, "dpred");
    if (overlaps(*args.outputs[0], *args.inputs[1]) && vd.offset != vt.offset) [[unlikely]]
        fail(std::string(op) + ": dpred overlaps target");
    if (rows == 0 || cols == 0) return;
    const std::size_t group = row_group(Kernel::softmax_cross_entropy_backward, cols);
    launch(Kernel::softmax_cross_entropy_backward, op, {rows * group, 1}, {group, 1}, vp, vt, vd,
           u32(cols), args.scalars[0]);
}

// inputs {grad}; outputs {value, m, v} or {value, m, v, v_max} (AMSGrad); scalars {lr,
// beta1, beta2, epsilon, bias_correction1, bias_correction2, weight_decay, grad_scale,
// clipvalue}.
void OpenClDevice::fused_adam_update(const FusedArgs& args) {
    const char* op = "adam.update";
    const std::size_t no = args.outputs.size();
    if (args.inputs.size() != 1 || (no != 3 && no != 4) || args.scalars.size() != 9 ||
        !args.inputs[0]) [[unlikely]]
        fail(std::string(op) + ": expected inputs {grad}, outputs {value, m, v[, v_max]} "
                               "and 9 scalars");
    const Tensor& g = *args.inputs[0];
    const std::size_t n = g.numel();
    const char* names[] = {"value", "m", "v", "v_max"};
    View out[4];
    for (std::size_t i = 0; i < no; ++i) {
        if (!args.outputs[i]) [[unlikely]]
            fail(std::string(op) + ": operand '" + names[i] + "' is missing");
        require_numel(op, names[i], *args.outputs[i], n);
        out[i] = view(*args.outputs[i], op, names[i]);
    }
    if (no == 3) out[3] = out[2];  // a placeholder the kernel does not read
    const auto s = args.scalars;
    const float lr = s[0], bc1 = s[4], bc2 = s[5], wd = s[6];
    // The same host-side constants as the CPU device, so both round alike.
    const float keep = wd != 0.0f ? 1.0f - lr * wd : 1.0f;
    const float inv_sqrt_bc2 = 1.0f / std::sqrt(bc2);
    const float step = -lr / bc1;
    launch_1d(Kernel::adam_update, op, n, view(g, op, "grad"), out[0], out[1], out[2], out[3],
              cl_int{no == 4}, u32(n), s[1], s[2], s[3], keep, inv_sqrt_bc2, step, s[7],
              clip_limit(s[8]));
}

// inputs {grad}; outputs {value, velocity}; scalars {lr, momentum, nesterov (0 or 1),
// weight_decay, grad_scale, clipvalue}.
void OpenClDevice::fused_sgd_momentum_update(const FusedArgs& args) {
    const char* op = "sgd.momentum_update";
    if (args.inputs.size() != 1 || args.outputs.size() != 2 || args.scalars.size() != 6 ||
        !args.inputs[0] || !args.outputs[0] || !args.outputs[1]) [[unlikely]]
        fail(std::string(op) + ": expected inputs {grad}, outputs {value, velocity} and "
                               "6 scalars");
    const Tensor& g = *args.inputs[0];
    const std::size_t n = g.numel();
    require_numel(op, "value", *args.outputs[0], n);
    require_numel(op, "velocity", *args.outputs[1], n);
    const auto s = args.scalars;
    launch_1d(Kernel::sgd_momentum_update, op, n, view(g, op, "grad"),
              view(*args.outputs[0], op, "value"), view(*args.outputs[1], op, "velocity"),
              u32(n), s[0], s[1], s[3], cl_int{s[2] != 0.0f}, s[4], clip_limit(s[5]));
}

}  // namespace plexus_opencl
