// Rectified linear unit, y = max(0, x) (Nair & Hinton, 2010; Glorot et al., 2011): the
// default hidden activation, cheap and free of the vanishing gradients of sigmoid/tanh for
// positive inputs.
#include "plexus/plexus.hpp"

namespace {

class Relu final : public plexus::Layer {
public:
    explicit Relu(const plexus::Params&) {}

    plexus::Shape build(const plexus::Shape& input, plexus::Device&,
                        const plexus::BuildContext&) override {
        if (input.rank() < 1) throw plexus::ShapeError("relu: expected input [batch, ...]");
        return input;
    }

    void forward(const plexus::Tensor& x, const plexus::Tensor& y, plexus::Mode) override {
        x.device()->unary(plexus::UnaryOp::relu, x, y);
    }

    // The gradient is taken from x, not y: both give the same mask (y > 0 iff x > 0), but
    // x stays valid when a later layer works in place on y.
    void backward(const plexus::Tensor& x, const plexus::Tensor&, const plexus::Tensor& dy,
                  const plexus::Tensor* dx) override {
        if (dx) x.device()->binary(plexus::BinaryOp::relu_backward, dy, x, *dx);
    }
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Relu>("relu", "0.1.0", "Rectified linear unit: y = max(0, x)"))
