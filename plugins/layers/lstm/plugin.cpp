// Long short-term memory (Hochreiter & Schmidhuber, 1997, "Long Short-Term Memory", with the
// forget gate of Gers, Schmidhuber & Cummins, 2000), Keras's LSTM: gates i, f, c, o in that
// order, c_t = f*c_{t-1} + i*a(z_c), h_t = o*a(c_t). Jozefowicz et al. (2015) found a forget
// bias of 1 (unit_forget_bias) closes most of the gap to the best architectures they searched.
//
// RecurrentLayer (plexus/support/recurrent.hpp) runs the GEMMs and backpropagation through
// time; this file is the cell. A device with lstm.cell_forward / lstm.cell_backward
// (plexus/fused.hpp) runs each step's elementwise part as one kernel. The primitive path
// below is the reference: it transposes the step's [N, 4, H] block to gate-major [4, N, H],
// so every gate is a contiguous [N, H] block for the device's elementwise ops.
#include <limits>

#include "plexus/plexus.hpp"
#include "plexus/support/recurrent.hpp"

namespace {

namespace support = plexus::support;
namespace fused = plexus::fused;
using plexus::BinaryOp;
using plexus::Tensor;

constexpr double kInf = std::numeric_limits<double>::infinity();

constexpr plexus::ParamSpec kLstmParams[] = {
    support::units_param(),
    support::return_sequences_param(),
    support::activation_param(),
    support::recurrent_activation_param(),
    support::recurrent_use_bias_param(),
    {"unit_forget_bias", plexus::ParamType::boolean, "true", -kInf, kInf, nullptr,
     "Start the forget gate's bias at 1 (the rest at 0)", 0},
    support::recurrent_l1_param(),
    support::recurrent_l2_param(),
    support::recurrent_trainable_param(),
    support::bidirectional_param(),
    support::recurrent_fused_param(),
};

// Gate k of a gate-major [4n, H] block.
Tensor gate(const Tensor& block, std::size_t k, std::size_t n) {
    return block.rows(k * n, n);
}

class Lstm final : public support::RecurrentLayer {
public:
    explicit Lstm(const plexus::Params& params)
        : RecurrentLayer(support::CellSpec{"lstm", 4, true, false}, params),
          unit_forget_bias_(params.get_bool("unit_forget_bias")) {}

protected:
    bool device_has_fused_cell(const plexus::Device& device) const override {
        const fused::KeySet keys = device.fused_keys();
        return keys.contains(fused::Key::lstm_cell_forward) &&
               keys.contains(fused::Key::lstm_cell_backward);
    }

    void init_bias(plexus::Device& device, const Tensor& bias) const override {
        device.fill(bias, 0.0f);
        const std::size_t h = options().units;
        if (unit_forget_bias_) device.fill(bias.reshaped({4 * h}).rows(h, h), 1.0f);
    }

    void build_scratch(plexus::Device& device, std::size_t rows, std::size_t units) override {
        gate_major_ = device.alloc({4 * rows, units});
        a_ = device.alloc({rows, units});
        b_ = device.alloc({rows, units});
    }

    void forward_step(plexus::Device& device, const Step& s) override {
        if (fused()) {
            require_ran(device.try_fused(fused::LstmCellForward{.gates = s.gates,
                                                        .bias = s.bias,
                                                        .c_prev = s.c_prev,
                                                        .c = s.c,
                                                        .h = s.h,
                                                        .activation = key_activation(),
                                                        .recurrent_activation =
                                                            key_recurrent_activation()}));
            return;
        }
        const std::size_t n = s.h.rows(), h = s.h.cols();
        const plexus::UnaryOp a = options().activation, ra = options().recurrent_activation;
        const Tensor z = gate_major_.rows(0, 4 * n), acts = s.gates.reshaped({4 * n, h});
        const Tensor t = a_.rows(0, n);
        device.transpose(s.gates, z, 1, n, 4, h);
        device.unary(ra, z.rows(0, 2 * n), acts.rows(0, 2 * n));  // i, f
        device.unary(a, gate(z, 2, n), gate(acts, 2, n));
        device.unary(ra, gate(z, 3, n), gate(acts, 3, n));
        device.binary(BinaryOp::mul, gate(acts, 1, n), s.c_prev, s.c);
        device.binary(BinaryOp::mul, gate(acts, 0, n), gate(acts, 2, n), t);
        device.binary(BinaryOp::add, s.c, t, s.c);
        device.unary(a, s.c, t);
        device.binary(BinaryOp::mul, gate(acts, 3, n), t, s.h);
    }

    void backward_step(plexus::Device& device, const StepGrad& g) override {
        const Step& s = g.step;
        if (fused()) {
            require_ran(device.try_fused(fused::LstmCellBackward{
                .gates = s.gates,
                .c_prev = s.c_prev,
                .c = s.c,
                .dh = g.dh,
                .dc = g.dc,
                .dgates = g.dgates,
                .activation = key_activation(),
                .recurrent_activation = key_recurrent_activation()}));
            return;
        }
        const std::size_t n = s.h.rows(), h = s.h.cols();
        const plexus::UnaryOp a = options().activation, ra = options().recurrent_activation;
        const Tensor acts = s.gates.reshaped({4 * n, h}), dz = gate_major_.rows(0, 4 * n);
        const Tensor i = gate(acts, 0, n), f = gate(acts, 1, n), cand = gate(acts, 2, n),
                     o = gate(acts, 3, n);
        const Tensor tc = a_.rows(0, n), t = b_.rows(0, n);
        device.unary(a, s.c, tc);
        device.binary(BinaryOp::mul, g.dh, tc, t);
        support::activation_backward(device, ra, t, o, gate(dz, 3, n));
        device.binary(BinaryOp::mul, g.dh, o, t);
        support::activation_backward(device, a, t, tc, t);
        device.binary(BinaryOp::add, g.dc, t, g.dc);
        device.binary(BinaryOp::mul, g.dc, cand, t);
        support::activation_backward(device, ra, t, i, gate(dz, 0, n));
        device.binary(BinaryOp::mul, g.dc, i, t);
        support::activation_backward(device, a, t, cand, gate(dz, 2, n));
        device.binary(BinaryOp::mul, g.dc, s.c_prev, t);
        support::activation_backward(device, ra, t, f, gate(dz, 1, n));
        device.binary(BinaryOp::mul, g.dc, f, g.dc);
        device.transpose(dz, g.dgates, 1, 4, n, h);
    }

private:
    bool unit_forget_bias_;
    Tensor gate_major_, a_, b_;  // the primitive path's scratch
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Lstm>("lstm", "0.1.0",
                                      "Long short-term memory recurrent layer (Keras LSTM)",
                                      kLstmParams))
