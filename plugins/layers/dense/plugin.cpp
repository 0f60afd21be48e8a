// Dense (fully connected) layer: y = xW + b, the affine map at the heart of every MLP
// (Rosenblatt's perceptron, 1958; Goodfellow et al., "Deep Learning", 2016, ch. 6).
// Inputs of any rank >= 2 are seen as [batch, features] without copying, so a dense layer
// can follow a convolution directly.
//
// Initialisation follows Keras's names and scales: Glorot & Bengio (2010) keep activation
// variance constant for tanh/sigmoid with Var(W) = 2/(in+out); He et al. (2015) double
// LeCun's 1/in to compensate for ReLU zeroing half of its inputs. The normal variants are
// plain (untruncated) normals. l1/l2 are stored on the kernel for the trainer, which adds
// the penalty to the loss and its gradient; trainable=false freezes kernel and bias.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"

namespace {

using plexus::ParamSpec;
using plexus::ParamType;

constexpr double kInf = std::numeric_limits<double>::infinity();

constexpr ParamSpec kDenseParams[] = {
    {"units", ParamType::integer, nullptr, 1, kInf, nullptr, "Number of output features", 0},
    {"init", ParamType::choice, "glorot_uniform", -kInf, kInf,
     "he_normal|glorot_uniform|he_uniform|glorot_normal|lecun_normal|normal|uniform|zeros",
     "Kernel initialisation: he_* before ReLU, glorot_* before tanh/sigmoid, lecun_normal "
     "before SELU; normal uses stddev, uniform uses limit",
     0},
    {"stddev", ParamType::real, "0.05", 0, kInf, nullptr,
     "Standard deviation of init=normal", 0},
    {"limit", ParamType::real, "0.05", 0, kInf, nullptr, "init=uniform draws from [-limit, limit)",
     0},
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

enum class Init { he_normal, he_uniform, glorot_normal, glorot_uniform, lecun_normal, normal,
                  uniform, zeros };

Init parse_init(const std::string& name) {
    if (name == "he_normal") return Init::he_normal;
    if (name == "he_uniform") return Init::he_uniform;
    if (name == "glorot_normal") return Init::glorot_normal;
    if (name == "lecun_normal") return Init::lecun_normal;
    if (name == "normal") return Init::normal;
    if (name == "uniform") return Init::uniform;
    if (name == "zeros") return Init::zeros;
    return Init::glorot_uniform;  // the spec admits nothing else
}

class Dense final : public plexus::Layer {
public:
    explicit Dense(const plexus::Params& params)
        : units_(static_cast<std::size_t>(params.get_int("units"))),
          init_(parse_init(params.get_string("init"))),
          stddev_(params.get_real("stddev")),
          limit_(params.get_real("limit")),
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
        initialise(device, context.seed);
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
    // Keras's scales (fan_in = inputs, fan_out = units); normal draws are not truncated.
    void initialise(plexus::Device& device, std::uint64_t seed) {
        const double fan_in = static_cast<double>(inputs_);
        const double fan_out = static_cast<double>(units_);
        const auto normal = [&](double stddev) {
            device.random(plexus::Distribution::normal, seed, 0, kernel_.value, 0.0f,
                          static_cast<float>(stddev));
        };
        const auto uniform = [&](double limit) {
            const auto l = static_cast<float>(limit);
            device.random(plexus::Distribution::uniform, seed, 0, kernel_.value, -l, l);
        };
        switch (init_) {
            case Init::he_normal: return normal(std::sqrt(2.0 / fan_in));
            case Init::he_uniform: return uniform(std::sqrt(6.0 / fan_in));
            case Init::glorot_normal: return normal(std::sqrt(2.0 / (fan_in + fan_out)));
            case Init::glorot_uniform: return uniform(std::sqrt(6.0 / (fan_in + fan_out)));
            case Init::lecun_normal: return normal(std::sqrt(1.0 / fan_in));
            case Init::normal: return normal(stddev_);
            case Init::uniform: return uniform(limit_);
            case Init::zeros: return device.fill(kernel_.value, 0.0f);
        }
    }

    void check_input(const plexus::Tensor& x) const {
        if (kernel_.value.empty())
            throw plexus::ShapeError("dense: forward/backward called before build()");
        if (x.cols() != inputs_)
            throw plexus::ShapeError("dense: built for " + std::to_string(inputs_) +
                                     " input features, got " + x.shape().str());
    }

    std::size_t units_;
    Init init_;
    double stddev_;
    double limit_;
    bool use_bias_;
    bool trainable_;
    std::size_t inputs_ = 0;
    plexus::Parameter kernel_;
    plexus::Parameter bias_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Dense>("dense", "0.1.0", "Fully connected layer: y = xW + b",
                                       kDenseParams))
