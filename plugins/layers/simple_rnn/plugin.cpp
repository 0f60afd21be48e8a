// Fully connected recurrent layer (Elman, 1990, "Finding Structure in Time"):
// h_t = a(x_t W + h_{t-1} U + b), Keras's SimpleRNN. Everything but the activation is
// RecurrentLayer's (plexus/support/recurrent.hpp): the input projection of the whole
// sequence as one GEMM, one GEMM per step for the recurrence, backpropagation through time.
// The cell is a single elementwise op each way, so there is no fused key to gain from.
#include "plexus/plexus.hpp"
#include "plexus/support/recurrent.hpp"

namespace {

namespace support = plexus::support;

constexpr plexus::ParamSpec kSimpleRnnParams[] = {
    support::units_param(),         support::return_sequences_param(),
    support::activation_param(),    support::recurrent_use_bias_param(),
    support::recurrent_l1_param(),  support::recurrent_l2_param(),
    support::recurrent_trainable_param(), support::bidirectional_param(),
};

class SimpleRnn final : public support::RecurrentLayer {
public:
    explicit SimpleRnn(const plexus::Params& params)
        : RecurrentLayer(support::CellSpec{"simple_rnn", 1, false, false}, params) {}

protected:
    bool device_has_fused_cell(const plexus::Device&) const override { return false; }

    void forward_step(plexus::Device& device, const Step& step) override {
        device.unary(options().activation, step.gates, step.h);
    }

    void backward_step(plexus::Device& device, const StepGrad& grad) override {
        support::activation_backward(device, options().activation, grad.dh, grad.step.h,
                                     grad.dgates);
    }
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<SimpleRnn>("simple_rnn", "0.1.0",
                                           "Fully connected recurrent layer (Keras SimpleRNN)",
                                           kSimpleRnnParams))
