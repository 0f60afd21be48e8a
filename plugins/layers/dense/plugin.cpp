// Dense (fully connected) layer: y = xW + b, the affine map at the heart of every MLP
// (Rosenblatt's perceptron, 1958; Goodfellow et al., "Deep Learning", 2016, ch. 6).
// Inputs of any rank >= 2 are seen as [batch, features] without copying, so a dense layer
// can follow a convolution directly.
//
// Initialisation follows Keras's names and scales (plexus/support/initializer.hpp, with
// fan_in = inputs and fan_out = units). l1/l2 are stored on the kernel for the trainer, which
// adds the penalty to the loss and its gradient; trainable=false freezes kernel and bias.
#include <limits>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/support/initializer.hpp"

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
    {"l1", ParamType::real, "0", 0, kInf, nullptr,
     "L1 penalty weight on the kernel: the trainer adds l1*sum|W| to the loss", 0},
    {"l2", ParamType::real, "0", 0, kInf, nullptr,
     "L2 penalty weight on the kernel: the trainer adds l2*sum(W^2) to the loss (Keras "
     "convention; lambda/(2m)*sum(W^2) is l2 = lambda/(2m))",
     0},
    {"trainable", ParamType::boolean, "true", -kInf, kInf, nullptr,
     "false freezes kernel and bias (the optimizer skips them; gradients still reach the "
     "previous layer)",
     0},
};

class Dense final : public plexus::Layer {
public:
    explicit Dense(const plexus::Params& params)
        : units_(static_cast<std::size_t>(params.get_int("units"))),
          init_(plexus::support::parse_kernel_init(params)),
          use_bias_(params.get_bool("use_bias")),
          trainable_(params.get_bool("trainable")) {
        kernel_.name = "kernel";
        bias_.name = "bias";
        kernel_.l1 = static_cast<float>(params.get_real("l1"));
        kernel_.l2 = static_cast<float>(params.get_real("l2"));
        kernel_.trainable = trainable_;
        bias_.trainable = trainable_;
    }

    plexus::Shape build(const plexus::Shape& input, plexus::Device& device,
                        const plexus::BuildContext& context) override {
        if (input.rank() < 2 || input.cols() == 0)
            throw plexus::ShapeError("dense: expected input [batch, features...], got " +
                                     input.str());
        inputs_ = input.cols();
        kernel_.value = device.alloc({inputs_, units_});
        kernel_.grad = device.alloc({inputs_, units_});
        plexus::support::initialise_kernel(device, kernel_.value, init_,
                                           static_cast<double>(inputs_),
                                           static_cast<double>(units_), context.seed);
        if (!trainable_) device.fill(kernel_.grad, 0.0f);  // never written by backward
        if (use_bias_) {
            bias_.value = device.alloc({units_});
            bias_.grad = device.alloc({units_});
            device.fill(bias_.value, 0.0f);
            device.fill(bias_.grad, 0.0f);
        }
        return {input.rows(), units_};
    }

    void forward(const plexus::Tensor& x, const plexus::Tensor& y, plexus::Mode) override {
        check_input(x);
        plexus::Device& device = *x.device();
        device.gemm(plexus::Transpose::no, plexus::Transpose::no, 1.0f, x, kernel_.value, 0.0f,
                    y);
        if (use_bias_) device.binary(plexus::BinaryOp::add, y, bias_.value, y);
    }

    void backward(const plexus::Tensor& x, const plexus::Tensor&, const plexus::Tensor& dy,
                  const plexus::Tensor* dx) override {
        check_input(x);
        plexus::Device& device = *x.device();
        if (trainable_) {  // a frozen layer skips its weight gradients, not dx
            device.gemm(plexus::Transpose::yes, plexus::Transpose::no, 1.0f, x, dy, 0.0f,
                        kernel_.grad);
            if (use_bias_)
                device.reduce(plexus::ReduceOp::sum, dy, plexus::Axis::rows, bias_.grad);
        }
        if (dx)
            device.gemm(plexus::Transpose::no, plexus::Transpose::yes, 1.0f, dy, kernel_.value,
                        0.0f, *dx);
    }

    std::vector<plexus::Parameter*> parameters() override {
        if (use_bias_) return {&kernel_, &bias_};
        return {&kernel_};
    }

private:
    void check_input(const plexus::Tensor& x) const {
        if (kernel_.value.empty())
            throw plexus::ShapeError("dense: forward/backward called before build()");
        if (x.cols() != inputs_)
            throw plexus::ShapeError("dense: built for " + std::to_string(inputs_) +
                                     " input features, got " + x.shape().str());
    }

    std::size_t units_;
    plexus::support::KernelInit init_;
    bool use_bias_;
    bool trainable_;
    std::size_t inputs_ = 0;
    plexus::Parameter kernel_;
    plexus::Parameter bias_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Dense>("dense", "0.1.0", "Fully connected layer: y = xW + b",
                                       kDenseParams))
