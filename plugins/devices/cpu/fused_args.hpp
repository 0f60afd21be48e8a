// The CPU device's fused kernels: each function below hands one key's operands
// (plexus/fused.hpp) as raw pointers to its kernel in fused_batchnorm.hpp,
// fused_batchnorm_planes.hpp, fused_optimizer.hpp or fused_recurrent.hpp. The operands were checked by the Device
// base class before run_fused (it lives on this device, sizes per fused.hpp), so nothing is
// checked again here. Only plugin.cpp includes this (see there for why the functions are
// static).
// No include guard: cpu_device.inc includes this once per instruction set.

#include <algorithm>
#include <cstddef>

#include "checks.hpp"
#include "fused_batchnorm.hpp"
#include "fused_batchnorm_planes.hpp"
#include "fused_optimizer.hpp"
#include "fused_recurrent.hpp"
#include "plexus/device.hpp"
#include "plexus/fused.hpp"

namespace plexus_cpu {

namespace fused = plexus::fused;

// The floats of an operand the base class has checked.
static float* raw(const plexus::Tensor& t) {
    return static_cast<float*>(t.handle()) + t.offset();
}
// An operand that may be absent (nullptr).
static float* raw(const plexus::Tensor* t) { return t ? raw(*t) : nullptr; }

// The operands both batchnorm forward modes share.
template <class Op>
static cpu_fused::BatchNormForward batchnorm_forward_common(const Op& o) {
    cpu_fused::BatchNormForward a{};
    a.x = raw(o.x);
    a.gamma = raw(o.gamma);
    a.beta = raw(o.beta);
    a.y = raw(o.y);
    a.moving_mean = raw(o.moving_mean);
    a.moving_var = raw(o.moving_variance);
    a.n = o.x.rows();
    a.spatial = o.spatial;
    a.f = o.x.cols() / o.spatial;
    a.epsilon = o.epsilon;
    return a;
}

// Below this many values a batchnorm pass on planes runs on the calling thread.
constexpr std::size_t kParallelPlanes = 32768;

// Runs planes(a, begin, end) over the features [0, a.f), split into one contiguous range per
// pool thread when the tensor is large. Each feature is computed alone, so the split changes
// no result.
template <class Args, class Planes>
static void run_planes(WorkerPool* pool, const Args& a, Planes planes) {
    if (!pool || pool->parts() == 1 || a.f == 1 || a.n * a.f * a.spatial < kParallelPlanes)
        return planes(a, 0, a.f);
    auto body = [&](unsigned part, unsigned parts) {
        const std::size_t begin = a.f * part / parts, end = a.f * (part + 1) / parts;
        if (begin < end) planes(a, begin, end);
    };
    pool->run(body);
}

static void fused_batchnorm_forward(const fused::BatchNormForwardTrain& o, WorkerPool* pool) {
    cpu_fused::BatchNormForward a = batchnorm_forward_common(o);
    a.momentum = o.momentum;
    a.xhat = raw(o.xhat);
    a.mean = raw(o.mean);
    a.invstd = raw(o.invstd);
    if (a.spatial == 1) return cpu_fused::batchnorm_forward_train(a);
    run_planes(pool, a, cpu_fused::batchnorm_forward_train_planes);
}

static void fused_batchnorm_forward(const fused::BatchNormForwardInfer& o, WorkerPool* pool) {
    const cpu_fused::BatchNormForward a = batchnorm_forward_common(o);
    if (a.spatial == 1) return cpu_fused::batchnorm_forward_infer(a);
    run_planes(pool, a, cpu_fused::batchnorm_forward_infer_planes);
}

static void fused_batchnorm_backward(const fused::BatchNormBackward& o, WorkerPool* pool) {
    cpu_fused::BatchNormBackward a{};
    a.dy = raw(o.dy);
    a.xhat = raw(o.xhat);
    a.gamma = raw(o.gamma);
    a.invstd = raw(o.invstd);
    a.dx = raw(o.dx);
    a.dgamma = raw(o.dgamma);
    a.dbeta = raw(o.dbeta);
    a.n = o.dy.rows();
    a.spatial = o.spatial;
    a.f = o.dy.cols() / o.spatial;
    if (a.spatial == 1) return cpu_fused::batchnorm_backward(a);
    run_planes(pool, a, cpu_fused::batchnorm_backward_planes);
}

static void fused_softmax_cross_entropy_backward(const fused::SoftmaxCrossEntropyBackward& o) {
    const std::size_t cols = o.pred.cols();
    if (o.pred.numel() == 0 || cols == 0) return;
    softmax_cross_entropy_backward_rows(raw(o.pred), raw(o.target), raw(o.dpred), o.pred.rows(),
                                        cols, o.scale);
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

static void fused_adam_update(const fused::AdamUpdate& o, WorkerPool* pool) {
    run_update(pool,
               cpu_fused::AdamUpdate{raw(o.grad), raw(o.value), raw(o.m), raw(o.v), raw(o.v_max),
                                     o.grad.numel(), o.lr, o.beta1, o.beta2, o.epsilon,
                                     o.bias_correction1, o.bias_correction2, o.weight_decay,
                                     o.grad_scale, o.clipvalue},
               [](const cpu_fused::AdamUpdate& part) { cpu_fused::adam_update(part); });
}

static void fused_sgd_momentum_update(const fused::SgdMomentumUpdate& o, WorkerPool* pool) {
    run_update(pool,
               cpu_fused::SgdMomentumUpdate{raw(o.grad), raw(o.value), raw(o.velocity),
                                            o.grad.numel(), o.lr, o.momentum,
                                            o.weight_decay, o.nesterov, o.grad_scale,
                                            o.clipvalue},
               [](const cpu_fused::SgdMomentumUpdate& part) {
                   cpu_fused::sgd_momentum_update(part);
               });
}

// ---- fused recurrent cells: one time step, on the calling thread (a step is small)

// N and H from the [N, H] state operand the base class sized the others by.
static cpu_fused::CellStep cell_step(const plexus::Tensor& state) {
    cpu_fused::CellStep s{};
    s.n = state.rows();
    s.units = state.cols();
    return s;
}

static void fused_lstm_cell(const fused::LstmCellForward& o) {
    cpu_fused::CellStep s = cell_step(o.c_prev);
    s.gates = raw(o.gates);
    s.bias = raw(o.bias);
    s.prev = raw(o.c_prev);
    s.c = raw(o.c);
    s.h = raw(o.h);
    cpu_fused::with_activations(o.activation, o.recurrent_activation, [&](auto a, auto ra) {
        cpu_fused::lstm_forward<decltype(a)::value, decltype(ra)::value>(s);
    });
}

static void fused_lstm_cell(const fused::LstmCellBackward& o) {
    cpu_fused::CellStep s = cell_step(o.c_prev);
    s.gates = raw(o.gates);
    s.prev = raw(o.c_prev);
    s.c = raw(o.c);
    s.dh = raw(o.dh);
    s.dcarry = raw(o.dc);
    s.dgates = raw(o.dgates);
    cpu_fused::with_activations(o.activation, o.recurrent_activation, [&](auto a, auto ra) {
        cpu_fused::lstm_backward<decltype(a)::value, decltype(ra)::value>(s);
    });
}

static void fused_gru_cell(const fused::GruCellForward& o) {
    cpu_fused::CellStep s = cell_step(o.h_prev);
    s.gates = raw(o.gates);
    s.bias = raw(o.bias);
    s.recurrent = raw(o.recurrent);
    s.recurrent_bias = raw(o.recurrent_bias);
    s.prev = raw(o.h_prev);
    s.h = raw(o.h);
    cpu_fused::with_activations(o.activation, o.recurrent_activation, [&](auto a, auto ra) {
        cpu_fused::gru_forward<decltype(a)::value, decltype(ra)::value>(s);
    });
}

static void fused_gru_cell(const fused::GruCellBackward& o) {
    cpu_fused::CellStep s = cell_step(o.h_prev);
    s.gates = raw(o.gates);
    s.recurrent = raw(o.recurrent);
    s.prev = raw(o.h_prev);
    s.dh = raw(o.dh);
    s.dcarry = raw(o.dh_prev);
    s.dgates = raw(o.dgates);
    s.drecurrent = raw(o.drecurrent);
    cpu_fused::with_activations(o.activation, o.recurrent_activation, [&](auto a, auto ra) {
        cpu_fused::gru_backward<decltype(a)::value, decltype(ra)::value>(s);
    });
}

}  // namespace plexus_cpu
