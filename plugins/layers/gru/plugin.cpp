// Gated recurrent unit (Cho et al., 2014, "Learning Phrase Representations using RNN
// Encoder-Decoder for Statistical Machine Translation"), Keras's GRU with reset_after=true:
// gates z, r, h in that order, z = ra(x_z + u_z), r = ra(x_r + u_r), hh = a(x_h + r*u_h),
// h_t = z*h_{t-1} + (1 - z)*hh, where x is the input projection and u = h_{t-1} U plus the
// recurrent bias. Applying r after the product (cuDNN's and PyTorch's formulation) keeps the
// whole recurrence one GEMM per step; the bias is [2, 3*units]: input, then recurrent.
//
// RecurrentLayer (plexus/support/recurrent.hpp) runs the GEMMs and backpropagation through
// time; this file is the cell. A device with gru.cell_forward / gru.cell_backward
// (plexus/fused.hpp) runs each step's elementwise part as one kernel; the primitive path below
// is the reference, on gate-major [3, N, H] copies of the step's [N, 3, H] blocks.
#include <limits>

#include "plexus/plexus.hpp"
#include "plexus/support/recurrent.hpp"

namespace {

namespace support = plexus::support;
namespace fused = plexus::fused;
using plexus::BinaryOp;
using plexus::Tensor;

constexpr double kInf = std::numeric_limits<double>::infinity();

constexpr plexus::ParamSpec kGruParams[] = {
    support::units_param(),
    support::return_sequences_param(),
    support::activation_param(),
    support::recurrent_activation_param(),
    support::recurrent_use_bias_param(),
    {"reset_after", plexus::ParamType::boolean, "true", -kInf, kInf, nullptr,
     "Apply the reset gate after the recurrent product (cuDNN and PyTorch); false, the "
     "original GRU, is not implemented",
     0},
    support::recurrent_l1_param(),
    support::recurrent_l2_param(),
    support::recurrent_trainable_param(),
    support::bidirectional_param(),
    support::recurrent_fused_param(),
};

// Gate k of a gate-major [3n, H] block.
Tensor gate(const Tensor& block, std::size_t k, std::size_t n) {
    return block.rows(k * n, n);
}

const plexus::Params& require_reset_after(const plexus::Params& params) {
    if (!params.get_bool("reset_after"))
        throw plexus::ParamError(
            "gru: reset_after=false (the original GRU of Keras 1) is not implemented; use "
            "reset_after=true (the default, as cuDNN and PyTorch compute it)");
    return params;
}

class Gru final : public support::RecurrentLayer {
public:
    explicit Gru(const plexus::Params& params)
        : RecurrentLayer(support::CellSpec{"gru", 3, false, true},
                         require_reset_after(params)) {}

protected:
    bool device_has_fused_cell(const plexus::Device& device) const override {
        const fused::KeySet keys = device.fused_keys();
        return keys.contains(fused::Key::gru_cell_forward) &&
               keys.contains(fused::Key::gru_cell_backward);
    }

    void build_scratch(plexus::Device& device, std::size_t rows, std::size_t units) override {
        x_ = device.alloc({3 * rows, units});
        u_ = device.alloc({3 * rows, units});
        a_ = device.alloc({rows, units});
        b_ = device.alloc({rows, units});
    }

    void forward_step(plexus::Device& device, const Step& s) override {
        if (fused()) {
            require_ran(device.try_fused(fused::GruCellForward{
                .gates = s.gates,
                .bias = s.bias,
                .recurrent = s.recurrent,
                .recurrent_bias = s.recurrent_bias,
                .h_prev = s.h_prev,
                .h = s.h,
                .activation = key_activation(),
                .recurrent_activation = key_recurrent_activation()}));
            return;
        }
        const std::size_t n = s.h.rows(), h = s.h.cols();
        const plexus::UnaryOp a = options().activation, ra = options().recurrent_activation;
        // u keeps its bias: the backward reads it.
        if (s.recurrent_bias) device.binary(BinaryOp::add, s.recurrent, *s.recurrent_bias, s.recurrent);
        const Tensor x = x_.rows(0, 3 * n), u = u_.rows(0, 3 * n);
        const Tensor acts = s.gates.reshaped({3 * n, h}), t = a_.rows(0, n);
        device.transpose(s.gates, x, 1, n, 3, h);
        device.transpose(s.recurrent, u, 1, n, 3, h);
        device.binary(BinaryOp::add, x.rows(0, 2 * n), u.rows(0, 2 * n), x.rows(0, 2 * n));
        device.unary(ra, x.rows(0, 2 * n), acts.rows(0, 2 * n));  // z, r
        const Tensor z = gate(acts, 0, n), r = gate(acts, 1, n), hh = gate(acts, 2, n);
        device.binary(BinaryOp::mul, r, gate(u, 2, n), t);
        device.binary(BinaryOp::add, gate(x, 2, n), t, t);
        device.unary(a, t, hh);
        device.binary(BinaryOp::sub, s.h_prev, hh, t);  // h = hh + z*(h_prev - hh)
        device.binary(BinaryOp::mul, z, t, t);
        device.binary(BinaryOp::add, hh, t, s.h);
    }

    void backward_step(plexus::Device& device, const StepGrad& g) override {
        const Step& s = g.step;
        if (fused()) {
            require_ran(device.try_fused(fused::GruCellBackward{
                .gates = s.gates,
                .recurrent = s.recurrent,
                .h_prev = s.h_prev,
                .dh = g.dh,
                .dh_prev = g.dh_prev,
                .dgates = g.dgates,
                .drecurrent = g.drecurrent,
                .activation = key_activation(),
                .recurrent_activation = key_recurrent_activation()}));
            return;
        }
        const std::size_t n = s.h.rows(), h = s.h.cols();
        const plexus::UnaryOp a = options().activation, ra = options().recurrent_activation;
        const Tensor acts = s.gates.reshaped({3 * n, h});
        const Tensor z = gate(acts, 0, n), r = gate(acts, 1, n), hh = gate(acts, 2, n);
        const Tensor dx = x_.rows(0, 3 * n), du = u_.rows(0, 3 * n);
        const Tensor t = a_.rows(0, n), dhh = b_.rows(0, n);
        device.transpose(s.recurrent, du, 1, n, 3, h);  // u, gate-major, until dx_r is known
        device.binary(BinaryOp::mul, g.dh, z, t);
        device.binary(BinaryOp::add, g.dh_prev, t, g.dh_prev);
        device.binary(BinaryOp::sub, g.dh, t, dhh);  // dh*(1 - z)
        support::activation_backward(device, a, dhh, hh, gate(dx, 2, n));
        device.binary(BinaryOp::sub, s.h_prev, hh, t);
        device.binary(BinaryOp::mul, g.dh, t, t);
        support::activation_backward(device, ra, t, z, gate(dx, 0, n));
        device.binary(BinaryOp::mul, gate(dx, 2, n), gate(du, 2, n), t);
        support::activation_backward(device, ra, t, r, gate(dx, 1, n));
        device.copy(dx.rows(0, 2 * n), du.rows(0, 2 * n));
        device.binary(BinaryOp::mul, gate(dx, 2, n), r, gate(du, 2, n));
        device.transpose(dx, g.dgates, 1, 3, n, h);
        device.transpose(du, g.drecurrent, 1, 3, n, h);
    }

private:
    Tensor x_, u_, a_, b_;  // the primitive path's scratch
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Gru>("gru", "0.1.0",
                                     "Gated recurrent unit layer (Keras GRU, reset_after=true)",
                                     kGruParams))
