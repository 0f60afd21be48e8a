// Dense (fully connected) layer: y = xW + b, the affine map at the heart of every MLP
// (Rosenblatt's perceptron, 1958; Goodfellow et al., "Deep Learning", 2016, ch. 6).
// Inputs of any rank >= 2 are seen as [batch, features] without copying, so a dense layer
// can follow a convolution directly.
//
// Initialisation follows Keras: glorot_uniform (Glorot & Bengio, 2010) keeps activation
// variance constant for tanh/sigmoid; he_normal (He et al., 2015) doubles it to compensate
// for ReLU zeroing half of its inputs.
#include <cmath>
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
    {"init", ParamType::choice, "glorot_uniform", -kInf, kInf, "he_normal|glorot_uniform",
     "Kernel initialisation: he_normal before ReLU, glorot_uniform before tanh/sigmoid", 0},
    {"use_bias", ParamType::boolean, "true", -kInf, kInf, nullptr, "Add a learned bias b", 0},
};

class Dense final : public plexus::Layer {
public:
    explicit Dense(const plexus::Params& params)
        : units_(static_cast<std::size_t>(params.get_int("units"))),
          he_normal_(params.get_string("init") == "he_normal"),
          use_bias_(params.get_bool("use_bias")) {
        kernel_.name = "kernel";
        bias_.name = "bias";
    }

    plexus::Shape build(const plexus::Shape& input, plexus::Device& device,
                        const plexus::BuildContext& context) override {
        if (input.rank() < 2 || input.cols() == 0)
            throw plexus::ShapeError("dense: expected input [batch, features...], got " +
                                     input.str());
        inputs_ = input.cols();
        kernel_.value = device.alloc({inputs_, units_});
        kernel_.grad = device.alloc({inputs_, units_});
        const double fan_in = static_cast<double>(inputs_);
        const double fan_out = static_cast<double>(units_);
        if (he_normal_) {
            const auto stddev = static_cast<float>(std::sqrt(2.0 / fan_in));
            device.random(plexus::Distribution::normal, context.seed, 0, kernel_.value, 0.0f,
                          stddev);
        } else {
            const auto limit = static_cast<float>(std::sqrt(6.0 / (fan_in + fan_out)));
            device.random(plexus::Distribution::uniform, context.seed, 0, kernel_.value, -limit,
                          limit);
        }
        if (use_bias_) {
            bias_.value = device.alloc({units_});
            bias_.grad = device.alloc({units_});
            device.fill(bias_.value, 0.0f);
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
        device.gemm(plexus::Transpose::yes, plexus::Transpose::no, 1.0f, x, dy, 0.0f,
                    kernel_.grad);
        if (use_bias_) device.reduce(plexus::ReduceOp::sum, dy, plexus::Axis::rows, bias_.grad);
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
    bool he_normal_;
    bool use_bias_;
    std::size_t inputs_ = 0;
    plexus::Parameter kernel_;
    plexus::Parameter bias_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Dense>("dense", "0.1.0", "Fully connected layer: y = xW + b",
                                       kDenseParams))
