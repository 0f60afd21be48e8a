// Launches of the OpenCL device's fused kernels; the operands of each key are declared in
// plexus/fused.hpp and checked by the Device base class before run_fused (they live on this
// device, sizes per fused.hpp), and every kernel matches the CPU device's.
#include <cmath>
#include <limits>
#include <string>

#include "opencl_device.hpp"

namespace plexus_opencl {

using plexus::Tensor;
namespace fused = plexus::fused;

namespace {
cl_uint u32(std::size_t n) { return static_cast<cl_uint>(n); }

// clipvalue <= 0 means no clipping: an infinite limit.
float clip_limit(float clipvalue) {
    return clipvalue > 0.0f ? clipvalue : std::numeric_limits<float>::infinity();
}
}  // namespace

fused::KeySet OpenClDevice::fused_keys() const {
    using fused::Key;
    return {Key::batchnorm_forward_train, Key::batchnorm_forward_infer, Key::batchnorm_backward,
            Key::softmax_cross_entropy_backward, Key::adam_update, Key::sgd_momentum_update,
            Key::lstm_cell_forward, Key::lstm_cell_backward, Key::gru_cell_forward,
            Key::gru_cell_backward};
}

// One kernel for both modes; the train-only operands are null in infer mode, where the
// kernel does not read their placeholders.
void OpenClDevice::batchnorm_forward(const Tensor& x, const Tensor* gamma, const Tensor* beta,
                                     const Tensor& y, const Tensor* xhat, const Tensor* mean,
                                     const Tensor* invstd, const Tensor& moving_mean,
                                     const Tensor& moving_variance, std::size_t spatial,
                                     float epsilon, float momentum, bool train) {
    const char* op = train ? "batchnorm.forward_train" : "batchnorm.forward_infer";
    const View vx = view(x, op, "x");
    const auto operand = [&](const Tensor* t, const char* what) -> View {
        return t ? view(*t, op, what) : vx;  // vx: a placeholder the kernel does not read
    };
    const View vgamma = operand(gamma, "gamma"), vbeta = operand(beta, "beta");
    const View vy = operand(&y, "y");
    const View vxhat = operand(xhat, "xhat"), vmean = operand(mean, "mean"),
               vinvstd = operand(invstd, "invstd");
    const View vmm = operand(&moving_mean, "moving_mean"),
               vmv = operand(&moving_variance, "moving_variance");
    const std::size_t n = x.rows(), f = x.cols() / spatial;
    launch_1d(Kernel::batchnorm_forward, op, f, vx, vgamma, cl_int{gamma != nullptr}, vbeta,
              cl_int{beta != nullptr}, vy, vxhat, vmean, vinvstd, vmm, vmv, u32(n), u32(f),
              u32(spatial), epsilon, momentum, cl_int{train});
}

void OpenClDevice::run_fused(const fused::BatchNormForwardTrain& o) {
    batchnorm_forward(o.x, o.gamma, o.beta, o.y, &o.xhat, &o.mean, &o.invstd, o.moving_mean,
                      o.moving_variance, o.spatial, o.epsilon, o.momentum, true);
}

void OpenClDevice::run_fused(const fused::BatchNormForwardInfer& o) {
    // The momentum is not read in infer mode; the CPU device's kernel takes 0 too.
    batchnorm_forward(o.x, o.gamma, o.beta, o.y, nullptr, nullptr, nullptr, o.moving_mean,
                      o.moving_variance, o.spatial, o.epsilon, 0.0f, false);
}

void OpenClDevice::run_fused(const fused::BatchNormBackward& o) {
    const char* op = "batchnorm.backward";
    const std::size_t n = o.dy.rows(), f = o.dy.cols() / o.spatial;
    const View vdy = view(o.dy, op, "dy");
    const auto operand = [&](const Tensor* t, const char* what) -> View {
        return t ? view(*t, op, what) : vdy;  // vdy: a placeholder the kernel does not read
    };
    const View xhat = operand(&o.xhat, "xhat");
    const View gamma = operand(o.gamma, "gamma");
    const View invstd = operand(&o.invstd, "invstd");
    const View dx = operand(o.dx, "dx");
    const View dgamma = operand(&o.dgamma, "dgamma");
    const View dbeta = operand(&o.dbeta, "dbeta");
    launch_1d(Kernel::batchnorm_backward, op, f, vdy, xhat, gamma, cl_int{o.gamma != nullptr},
              invstd, dx, cl_int{o.dx != nullptr}, dgamma, dbeta, u32(n), u32(f), u32(o.spatial));
}

void OpenClDevice::run_fused(const fused::SoftmaxCrossEntropyBackward& o) {
    const char* op = "softmax_cross_entropy.backward";
    const std::size_t rows = o.pred.rows(), cols = o.pred.cols();
    const View vp = view(o.pred, op, "pred"), vt = view(o.target, op, "target"),
               vd = view(o.dpred, op, "dpred");
    if (overlaps(o.dpred, o.target) && vd.offset != vt.offset) [[unlikely]]
        fail(std::string(op) + ": dpred overlaps target");
    if (rows == 0 || cols == 0) return;
    const std::size_t group = row_group(Kernel::softmax_cross_entropy_backward, cols);
    launch(Kernel::softmax_cross_entropy_backward, op, {rows * group, 1}, {group, 1}, vp, vt, vd,
           u32(cols), static_cast<float>(o.scale));
}

void OpenClDevice::run_fused(const fused::AdamUpdate& o) {
    const char* op = "adam.update";
    const std::size_t n = o.grad.numel();
    const auto operand = [&](const Tensor& t, const char* what) { return view(t, op, what); };
    const View value = operand(o.value, "value"), m = operand(o.m, "m"), v = operand(o.v, "v");
    const View v_max = o.v_max ? operand(*o.v_max, "v_max") : v;  // v: a placeholder
    const float lr = o.lr, bc1 = o.bias_correction1, bc2 = o.bias_correction2,
                wd = o.weight_decay;
    // The same host-side constants as the CPU device, so both round alike.
    const float keep = wd != 0.0f ? 1.0f - lr * wd : 1.0f;
    const float inv_sqrt_bc2 = 1.0f / std::sqrt(bc2);
    const float step = -lr / bc1;
    launch_1d(Kernel::adam_update, op, n, view(o.grad, op, "grad"), value, m, v, v_max,
              cl_int{o.v_max != nullptr}, u32(n), static_cast<float>(o.beta1),
              static_cast<float>(o.beta2), static_cast<float>(o.epsilon), keep, inv_sqrt_bc2,
              step, static_cast<float>(o.grad_scale), clip_limit(o.clipvalue));
}

void OpenClDevice::run_fused(const fused::SgdMomentumUpdate& o) {
    const char* op = "sgd.momentum_update";
    const std::size_t n = o.grad.numel();
    launch_1d(Kernel::sgd_momentum_update, op, n, view(o.grad, op, "grad"),
              view(o.value, op, "value"), view(o.velocity, op, "velocity"), u32(n),
              static_cast<float>(o.lr), static_cast<float>(o.momentum),
              static_cast<float>(o.weight_decay), cl_int{o.nesterov}, static_cast<float>(o.grad_scale),
              clip_limit(o.clipvalue));
}

// ---- recurrent cells: one work-item per (row, unit); N and H from the [N, H] state operand

namespace {
cl_int activation(fused::Activation a) { return static_cast<cl_int>(a); }
}  // namespace

void OpenClDevice::run_fused(const fused::LstmCellForward& o) {
    const char* op = "lstm.cell_forward";
    const std::size_t n = o.c_prev.rows(), h = o.c_prev.cols();
    const View gates = view(o.gates, op, "gates");
    const View bias = o.bias ? view(*o.bias, op, "bias") : gates;  // gates: a placeholder
    launch_1d(Kernel::lstm_cell_forward, op, n * h, gates, bias, cl_int{o.bias != nullptr},
              view(o.c_prev, op, "c_prev"), view(o.c, op, "c"), view(o.h, op, "h"), u32(n),
              u32(h), activation(o.activation), activation(o.recurrent_activation));
}

void OpenClDevice::run_fused(const fused::LstmCellBackward& o) {
    const char* op = "lstm.cell_backward";
    const std::size_t n = o.c_prev.rows(), h = o.c_prev.cols();
    launch_1d(Kernel::lstm_cell_backward, op, n * h, view(o.gates, op, "gates"),
              view(o.c_prev, op, "c_prev"), view(o.c, op, "c"), view(o.dh, op, "dh"),
              view(o.dc, op, "dc"), view(o.dgates, op, "dgates"), u32(n), u32(h),
              activation(o.activation), activation(o.recurrent_activation));
}

void OpenClDevice::run_fused(const fused::GruCellForward& o) {
    const char* op = "gru.cell_forward";
    const std::size_t n = o.h_prev.rows(), h = o.h_prev.cols();
    const View gates = view(o.gates, op, "gates");
    const View bias = o.bias ? view(*o.bias, op, "bias") : gates;  // placeholders
    const View rbias = o.recurrent_bias ? view(*o.recurrent_bias, op, "recurrent_bias") : gates;
    launch_1d(Kernel::gru_cell_forward, op, n * h, gates, bias, cl_int{o.bias != nullptr},
              view(o.recurrent, op, "recurrent"), rbias, cl_int{o.recurrent_bias != nullptr},
              view(o.h_prev, op, "h_prev"), view(o.h, op, "h"), u32(n), u32(h),
              activation(o.activation), activation(o.recurrent_activation));
}

void OpenClDevice::run_fused(const fused::GruCellBackward& o) {
    const char* op = "gru.cell_backward";
    const std::size_t n = o.h_prev.rows(), h = o.h_prev.cols();
    launch_1d(Kernel::gru_cell_backward, op, n * h, view(o.gates, op, "gates"),
              view(o.recurrent, op, "recurrent"), view(o.h_prev, op, "h_prev"),
              view(o.dh, op, "dh"), view(o.dh_prev, op, "dh_prev"), view(o.dgates, op, "dgates"),
              view(o.drecurrent, op, "drecurrent"), u32(n), u32(h), activation(o.activation),
              activation(o.recurrent_activation));
}

}  // namespace plexus_opencl
