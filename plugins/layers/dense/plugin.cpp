// Dense (fully connected) layer: y = xW + b, the affine map at the heart of every MLP
// (Rosenblatt's perceptron, 1958; Goodfellow et al., "Deep Learning", 2016, ch. 6).
// Inputs of any rank >= 2 are seen as [batch, features] without copying, so a dense layer
// can follow a convolution directly.
//
// Initialisation follows Keras's names and scales (plexus/support/weights.hpp, with
// fan_in = inputs and fan_out = units). l1/l2 are stored on the kernel for the trainer, which
// adds the penalty to the loss and its gradient; trainable=false freezes kernel and bias.
#include <limits>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/support/weights.hpp"

namespace {

using plexus::ParamSpec;
using plexus::ParamType;

constexpr double kInf = std::numeric_limits<double>::infinity();

constexpr ParamSpec kDenseParams[] = {
    {"units", ParamType::integer, nullptr, 1, kInf, nullptr, "Number of output features", 0},
    plexus::support::init_param(),
    plexus::support::stddev_param(),
    plexus::support::limit_param(),
    {"use_bias", ParamType::boolean, "true", -kInf, kInf, nullptr, "Add a learned bias b", 0},
    plexus::support::l1_param(),
    plexus::support::l2_param(),
    plexus::support::trainable_param(),
};

class Dense final : public plexus::Layer {
public:
    explicit Dense(const plexus::Params& params)
        : units_(static_cast<std::size_t>(params.get_int("units"))), weights_(params) {}

    plexus::Shape build(const plexus::Shape& input, plexus::Device& device,
                        const plexus::BuildContext& context) override {
        if (input.rank() < 2 || input.cols() == 0)
            throw plexus::ShapeError("dense: expected input [batch, features...], got " +
                                     input.str());
        inputs_ = input.cols();
        weights_.build(device, {inputs_, units_}, units_, static_cast<double>(inputs_),
                       static_cast<double>(units_), context.seed);
        return {input.rows(), units_};
    }

    void forward(const plexus::Tensor& x, const plexus::Tensor& y, plexus::Mode) override {
        check_input(x);
        plexus::Device& device = *x.device();
        device.gemm(plexus::Transpose::no, plexus::Transpose::no, 1.0f, x, weights_.kernel.value,
                    0.0f, y);
        if (weights_.use_bias) device.binary(plexus::BinaryOp::add, y, weights_.bias.value, y);
    }

    void backward(const plexus::Tensor& x, const plexus::Tensor&, const plexus::Tensor& dy,
                  const plexus::Tensor* dx) override {
        check_input(x);
        plexus::Device& device = *x.device();
        if (weights_.trainable()) {  // a frozen layer skips its weight gradients, not dx
            device.gemm(plexus::Transpose::yes, plexus::Transpose::no, 1.0f, x, dy, 0.0f,
                        weights_.kernel.grad);
            if (weights_.use_bias)
                device.reduce(plexus::ReduceOp::sum, dy, plexus::Axis::rows, weights_.bias.grad);
        }
        if (dx)
            device.gemm(plexus::Transpose::no, plexus::Transpose::yes, 1.0f, dy,
                        weights_.kernel.value, 0.0f, *dx);
    }

    std::vector<plexus::Parameter*> parameters() override { return weights_.parameters(); }

private:
    void check_input(const plexus::Tensor& x) const {
        if (!weights_.built())
            throw plexus::ShapeError("dense: forward/backward called before build()");
        if (x.cols() != inputs_)
            throw plexus::ShapeError("dense: built for " + std::to_string(inputs_) +
                                     " input features, got " + x.shape().str());
    }

    std::size_t units_;
    plexus::support::KernelWeights weights_;
    std::size_t inputs_ = 0;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Dense>("dense", "0.1.0", "Fully connected layer: y = xW + b",
                                       kDenseParams))
