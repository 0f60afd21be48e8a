// Scaled hyperbolic tangent, y = A·tanh(B·x) (LeCun, Bottou, Orr & Müller, 1998, "Efficient
// BackProp", §4.4). With A = 1.7159 and B = 2/3, f(±1) = ±1, the effective gain is close to 1
// over the useful range and the second derivative peaks at x = ±1: inputs normalised to unit
// variance keep unit variance through the layer, and targets of ±1 sit in the non-saturated
// part of the curve, unlike plain tanh whose asymptotes they are.
//
// This file is also the SDK template: a layer written only with device primitives (so it
// runs on every device), a parameter table declared once, and a workspace allocated in
// build() so that forward and backward allocate nothing.
#include <limits>
#include <string>

#include "plexus/plexus.hpp"

namespace {

using plexus::ParamSpec;
using plexus::ParamType;

constexpr double kInf = std::numeric_limits<double>::infinity();

// A and B must be non-zero (backward divides by A); negative values only mirror the curve,
// so both are restricted to (0, inf).
constexpr ParamSpec kScaledTanhParams[] = {
    {"a", ParamType::real, "1.7159", 0, kInf, nullptr, "Output scale A in A*tanh(B*x)",
     plexus::kMinExclusive},
    {"b", ParamType::real, "0.6666666666666666", 0, kInf, nullptr,
     "Input scale B in A*tanh(B*x); with the default A, 2/3 gives f(1) = 1", plexus::kMinExclusive},
};

class ScaledTanh final : public plexus::Layer {
public:
    explicit ScaledTanh(const plexus::Params& params)
        : a_(static_cast<float>(params.get_real("a"))),
          b_(static_cast<float>(params.get_real("b"))) {}

    plexus::Shape build(const plexus::Shape& input, plexus::Device& device,
                        const plexus::BuildContext&) override {
        if (input.rank() < 1 || input.numel() == 0)
            throw plexus::ShapeError("scaled_tanh: expected input [batch, ...], got " +
                                     input.str());
        workspace_ = device.alloc(input);
        return input;
    }

    void forward(const plexus::Tensor& x, const plexus::Tensor& y, plexus::Mode) override {
        plexus::Device& device = *x.device();
        device.unary(plexus::UnaryOp::scale, x, y, b_);
        device.unary(plexus::UnaryOp::tanh, y, y);
        device.unary(plexus::UnaryOp::scale, y, y, a_);
    }

    // f'(x) = A·B·(1 − tanh²(Bx)) = A·B − (B/A)·y², so the gradient comes from y without
    // recomputing tanh. It is built in the workspace rather than in dx because dx may alias
    // dy (a model may run backward in place).
    void backward(const plexus::Tensor& x, const plexus::Tensor& y, const plexus::Tensor& dy,
                  const plexus::Tensor* dx) override {
        if (!dx) return;
        if (workspace_.empty())
            throw plexus::ShapeError("scaled_tanh: backward called before build()");
        if (x.rows() > workspace_.rows() || x.cols() != workspace_.cols())
            throw plexus::ShapeError("scaled_tanh: built for inputs of up to " +
                                     workspace_.shape().str() + ", got " + x.shape().str());
        plexus::Device& device = *x.device();
        const plexus::Tensor slope = workspace_.rows(0, x.rows());
        device.unary(plexus::UnaryOp::square, y, slope);
        device.unary(plexus::UnaryOp::scale, slope, slope, -b_ / a_);
        device.unary(plexus::UnaryOp::add_scalar, slope, slope, a_ * b_);
        device.binary(plexus::BinaryOp::mul, dy, slope, *dx);
    }

private:
    float a_;
    float b_;
    plexus::Tensor workspace_;  // f'(x) for the current batch; [max batch, ...]
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<ScaledTanh>("scaled_tanh", "0.1.0",
                                            "LeCun's scaled tanh: y = A*tanh(B*x)",
                                            kScaledTanhParams))
