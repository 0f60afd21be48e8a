// What the recurrent layers (simple_rnn, lstm, gru) share: their parameters, the orthogonal
// initialisation of recurrent kernels, and RecurrentLayer, which runs everything but the cell.
//
// A sequence [N, T, F] is transposed once to time-major [T, N, F], so each time step is a
// contiguous block of N rows. The input projection of the whole sequence is one GEMM
// ([T*N, F] x [F, G*H], G gates of H units); each step adds h_prev x U with one GEMM and hands
// the step's block to the cell, whose elementwise part a device may run as one fused kernel
// (plexus/fused.hpp). Backpropagation through time walks the steps in reverse with one GEMM
// per step for dh_prev; the weight gradients are one GEMM each over the whole sequence.
// With bidirectional=true a second set of weights reads the sequence backwards and the two
// outputs are concatenated (Keras Bidirectional, merge_mode="concat"). Every workspace is
// allocated in build() for the largest batch: forward and backward allocate nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "plexus/device.hpp"
#include "plexus/export.hpp"
#include "plexus/fused.hpp"
#include "plexus/layer.hpp"
#include "plexus/params.hpp"
#include "plexus/tensor.hpp"

namespace plexus::support {

namespace detail {
inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr const char* kActivations = "tanh|sigmoid|relu|linear";
}  // namespace detail

/// The parameters every recurrent layer has, in the order of its README's table.
constexpr ParamSpec units_param() {
    return {"units", ParamType::integer, nullptr, 1, detail::kInf, nullptr,
            "Size of the hidden state h (the output width; twice this when bidirectional)"};
}
constexpr ParamSpec return_sequences_param() {
    return {"return_sequences", ParamType::boolean, "false", -detail::kInf, detail::kInf,
            nullptr, "Output h at every step [N, T, units] instead of the last one [N, units]"};
}
constexpr ParamSpec activation_param() {
    return {"activation", ParamType::choice, "tanh", -detail::kInf, detail::kInf,
            detail::kActivations, "Activation of the state (the candidate and the output)"};
}
constexpr ParamSpec recurrent_activation_param() {
    return {"recurrent_activation", ParamType::choice, "sigmoid", -detail::kInf, detail::kInf,
            detail::kActivations, "Activation of the gates"};
}
constexpr ParamSpec recurrent_use_bias_param() {
    return {"use_bias", ParamType::boolean, "true", -detail::kInf, detail::kInf, nullptr,
            "Add a learned bias to the gates"};
}
constexpr ParamSpec recurrent_l1_param() {
    return {"l1", ParamType::real, "0", 0, detail::kInf, nullptr,
            "L1 penalty weight on kernel and recurrent_kernel: the trainer adds l1*sum|W| to the "
            "loss"};
}
constexpr ParamSpec recurrent_l2_param() {
    return {"l2", ParamType::real, "0", 0, detail::kInf, nullptr,
            "L2 penalty weight on kernel and recurrent_kernel: the trainer adds l2*sum(W^2) to "
            "the loss (Keras convention)"};
}
constexpr ParamSpec recurrent_trainable_param() {
    return {"trainable", ParamType::boolean, "true", -detail::kInf, detail::kInf, nullptr,
            "false freezes every weight (gradients still reach the previous layer)"};
}
constexpr ParamSpec bidirectional_param() {
    return {"bidirectional", ParamType::boolean, "false", -detail::kInf, detail::kInf, nullptr,
            "Also read the sequence backwards with a second set of weights and concatenate both "
            "outputs (Keras Bidirectional, merge_mode=concat)"};
}
constexpr ParamSpec recurrent_fused_param() {
    return {"fused", ParamType::boolean, "true", -detail::kInf, detail::kInf, nullptr,
            "Use the device's fused cell kernels when it has them (false forces the primitive "
            "path)"};
}

/// `activation` / `recurrent_activation` as the UnaryOp computing it (linear: identity).
PLEXUS_API UnaryOp parse_activation(const std::string& name);

/// The same activation as the recurrent cell keys take it (plexus/fused.hpp).
constexpr fused::Activation fused_activation(UnaryOp op) {
    switch (op) {
        case UnaryOp::sigmoid: return fused::Activation::sigmoid;
        case UnaryOp::relu: return fused::Activation::relu;
        case UnaryOp::identity: return fused::Activation::linear;
        default: return fused::Activation::tanh;  // parse_activation admits nothing else
    }
}

/// The gradient through activation `op` given its output y: dx = dy * op'(x), written with
/// the BinaryOp that takes the output (tanh_backward, sigmoid_backward, relu_backward) or a
/// copy for identity. dx may alias dy.
PLEXUS_API void activation_backward(Device& device, UnaryOp op, const Tensor& dy,
                                    const Tensor& y, const Tensor& dx);

/// Fills `kernel` [rows, cols] with a (semi-)orthogonal matrix as Keras's Orthogonal
/// initializer does (Saxe et al., 2014): a normal draw made orthonormal by QR (Gram-Schmidt
/// in double precision on the host, the sign of R's diagonal positive), so the rows are
/// orthonormal when rows <= cols, else the columns. Draws use (seed, counter).
PLEXUS_API void initialise_orthogonal(Device& device, const Tensor& kernel, std::uint64_t seed,
                                      std::uint64_t counter);

/// What distinguishes one recurrent cell from another.
struct CellSpec {
    const char* name = "rnn";      // for messages: "lstm"
    std::size_t gates = 1;         // G: the projections have G*units columns
    bool cell_state = false;       // LSTM: a cell state c beside h
    bool split_recurrent = false;  // GRU (reset_after): h_prev x U kept apart from the input
                                   // projection, and the bias is [2, G*units] (input, recurrent)
};

/// The shared parameters, read from validated params (the specs above).
struct RecurrentOptions {
    std::size_t units = 1;
    bool return_sequences = false;
    bool bidirectional = false;
    bool use_bias = true;
    bool trainable = true;
    bool fused = true;
    float l1 = 0.0f, l2 = 0.0f;
    UnaryOp activation = UnaryOp::tanh;
    UnaryOp recurrent_activation = UnaryOp::sigmoid;
};

/// A recurrent layer without its cell: a plugin derives from it and implements the three
/// step hooks. Input [N, T, F] (T, F >= 1); output [N, D*units] or, with return_sequences,
/// [N, T, D*units] (D = 2 when bidirectional). Parameters per direction: kernel [F, G*units]
/// (glorot_uniform), recurrent_kernel [units, G*units] (orthogonal), bias [G*units] or
/// [2, G*units] (init_bias), named with a forward_/backward_ prefix when bidirectional.
class PLEXUS_API RecurrentLayer : public Layer {
public:
    RecurrentLayer(const CellSpec& cell, const Params& params);
    ~RecurrentLayer() override;

    Shape build(const Shape& input, Device& device, const BuildContext& context) override;
    void forward(const Tensor& x, const Tensor& y, Mode mode) override;
    /// Requires a forward() of the same x just before (the layer keeps its activations).
    void backward(const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor* dx) override;
    std::vector<Parameter*> parameters() override;
    /// Also before build(): the parameters are then made with the flag.
    void set_trainable(bool trainable) override;

protected:
    /// One time step of n rows; t is its position in the sequence.
    struct Step {
        Tensor gates;      // [n, G*H]: on entry the input projection plus, unless
                           // split_recurrent, h_prev x U; the cell leaves there what its
                           // backward reads
        Tensor recurrent;  // split_recurrent: [n, G*H], h_prev x U (zeros at the first step)
        Tensor h_prev, h;  // [n, H]: h_prev is zeros at the first step; h is written
        Tensor c_prev, c;  // cell_state: [n, H], c_prev zeros at the first step; c is written
        const Tensor* bias = nullptr;            // [G*H] for the cell to add to the gates, or
                                                 // null (already added, or no bias)
        const Tensor* recurrent_bias = nullptr;  // split_recurrent with a bias: [G*H]
    };
    /// The same step going back, with the forward's tensors as the cell left them.
    struct StepGrad {
        Step step;
        Tensor dh;          // [n, H]: dL/dh_t, complete
        Tensor dh_prev;     // [n, H]: the cell may add its direct term (GRU's z*dh); the
                            // layer then adds dL/d(h_prev x U) x U^T
        Tensor dc;          // cell_state: [n, H], in dL/dc_t from later steps, out dL/dc_prev
        Tensor dgates;      // [n, G*H] written: dL/d(gates on entry)
        Tensor drecurrent;  // split_recurrent: [n, G*H] written: dL/d(recurrent + its bias)
    };

    /// Whether the device runs this cell's fused keys (asked once, in build()).
    virtual bool device_has_fused_cell(const Device& device) const = 0;
    /// Allocates the primitive path's scratch for up to `rows` samples of `units` (called by
    /// build() only when the fused path is off).
    virtual void build_scratch(Device& device, std::size_t rows, std::size_t units);
    /// Initial bias values; the default is zeros.
    virtual void init_bias(Device& device, const Tensor& bias) const;
    virtual void forward_step(Device& device, const Step& step) = 0;
    virtual void backward_step(Device& device, const StepGrad& grad) = 0;

    const RecurrentOptions& options() const { return options_; }
    /// The activations as the fused cell keys take them.
    fused::Activation key_activation() const { return fused_activation(options_.activation); }
    fused::Activation key_recurrent_activation() const {
        return fused_activation(options_.recurrent_activation);
    }
    /// Throws DeviceError unless `ran`: build() chose the fused path because the device
    /// listed the cell's keys, so a device that declines one is broken.
    void require_ran(bool ran) const;
    /// build()'s choice: the fused cell kernels (true) or the primitive path.
    bool fused() const { return fused_; }

private:
    struct State;  // weights and workspaces (recurrent.cpp)
    Step step_at(std::size_t d, std::size_t n, std::size_t k, const Tensor* bias,
                 const Tensor* recurrent_bias) const;
    void run_direction(Device& device, std::size_t d, std::size_t n);
    void backprop_direction(Device& device, std::size_t d, std::size_t n, bool need_dx);
    void write_output(Device& device, std::size_t n, const Tensor& y);
    void read_output_gradient(Device& device, std::size_t n, const Tensor& dy);
    void check_input(const Tensor& x, const char* pass) const;

    CellSpec cell_;
    RecurrentOptions options_;
    bool fused_ = false;
    std::unique_ptr<State> state_;
};

}  // namespace plexus::support
