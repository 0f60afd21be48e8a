// Activation layers, one library: leaky_relu, elu, sigmoid, tanh, softmax and linear. Each
// is one device op forward and one backward, has no parameters and allocates nothing; relu
// has its own plugin (plugins/layers/relu).
//
// Backward reads x where the derivative is cheapest from the input (leaky_relu, elu) and y
// where it is cheapest from the output (sigmoid: y(1-y), tanh: 1-y^2, softmax).
#include <limits>
#include <string>

#include "plexus/plexus.hpp"

namespace {

using plexus::BinaryOp;
using plexus::Tensor;
using plexus::UnaryOp;

constexpr double kInf = std::numeric_limits<double>::infinity();

constexpr plexus::ParamSpec kLeakyReluParams[] = {
    {"alpha", plexus::ParamType::real, "0.3", 0, kInf, nullptr,
     "Slope for x < 0 (Keras's default 0.3; PyTorch's negative_slope defaults to 0.01)", 0},
};
constexpr plexus::ParamSpec kEluParams[] = {
    {"alpha", plexus::ParamType::real, "1.0", 0, kInf, nullptr,
     "Value approached for large negative x: y = alpha*(exp(x)-1) for x <= 0", 0},
};

// Shape checks shared by every activation: the output has the input's shape.
class Activation : public plexus::Layer {
public:
    plexus::Shape build(const plexus::Shape& input, plexus::Device&,
                        const plexus::BuildContext&) override {
        if (input.rank() < 1)
            throw plexus::ShapeError(std::string(name()) + ": expected input [batch, ...]");
        return input;
    }

protected:
    virtual const char* name() const = 0;
};

// Leaky ReLU (Maas, Hannun & Ng, 2013): y = x for x > 0, alpha*x otherwise; a small slope
// keeps units that fall below zero trainable.
class LeakyRelu final : public Activation {
public:
    explicit LeakyRelu(const plexus::Params& params)
        : alpha_(static_cast<float>(params.get_real("alpha"))) {}
    void forward(const Tensor& x, const Tensor& y, plexus::Mode) override {
        x.device()->unary(UnaryOp::leaky_relu, x, y, alpha_);
    }
    void backward(const Tensor& x, const Tensor&, const Tensor& dy, const Tensor* dx) override {
        if (dx) x.device()->binary(BinaryOp::leaky_relu_backward, dy, x, *dx, alpha_);
    }

private:
    const char* name() const override { return "leaky_relu"; }
    float alpha_;
};

// ELU (Clevert, Unterthiner & Hochreiter, 2016): y = x for x > 0, alpha*(exp(x)-1)
// otherwise; smooth, with mean activations closer to zero than ReLU's.
class Elu final : public Activation {
public:
    explicit Elu(const plexus::Params& params)
        : alpha_(static_cast<float>(params.get_real("alpha"))) {}
    void forward(const Tensor& x, const Tensor& y, plexus::Mode) override {
        x.device()->unary(UnaryOp::elu, x, y, alpha_);
    }
    void backward(const Tensor& x, const Tensor&, const Tensor& dy, const Tensor* dx) override {
        if (dx) x.device()->binary(BinaryOp::elu_backward, dy, x, *dx, alpha_);
    }

private:
    const char* name() const override { return "elu"; }
    float alpha_;
};

// Logistic sigmoid, y = 1/(1+exp(-x)): squashes to (0, 1), e.g. for independent
// probabilities; saturates (vanishing gradients) for large |x|.
class Sigmoid final : public Activation {
public:
    explicit Sigmoid(const plexus::Params&) {}
    void forward(const Tensor& x, const Tensor& y, plexus::Mode) override {
        x.device()->unary(UnaryOp::sigmoid, x, y);
    }
    void backward(const Tensor&, const Tensor& y, const Tensor& dy, const Tensor* dx) override {
        if (dx) y.device()->binary(BinaryOp::sigmoid_backward, dy, y, *dx);
    }

private:
    const char* name() const override { return "sigmoid"; }
};

// Hyperbolic tangent: a zero-centred sigmoid with range (-1, 1) (LeCun et al., "Efficient
// BackProp", 1998).
class Tanh final : public Activation {
public:
    explicit Tanh(const plexus::Params&) {}
    void forward(const Tensor& x, const Tensor& y, plexus::Mode) override {
        x.device()->unary(UnaryOp::tanh, x, y);
    }
    void backward(const Tensor&, const Tensor& y, const Tensor& dy, const Tensor* dx) override {
        if (dx) y.device()->binary(BinaryOp::tanh_backward, dy, y, *dx);
    }

private:
    const char* name() const override { return "tanh"; }
};

// Row-wise softmax (Bridle, 1990): turns each row of scores into a probability
// distribution. For classification prefer a linear output with softmax_cross_entropy, which
// is fused and numerically safer.
class Softmax final : public Activation {
public:
    explicit Softmax(const plexus::Params&) {}
    plexus::Shape build(const plexus::Shape& input, plexus::Device& device,
                        const plexus::BuildContext& context) override {
        if (input.rank() < 2 || input.cols() == 0)
            throw plexus::ShapeError("softmax: expected input [batch, classes...], got " +
                                     input.str());
        return Activation::build(input, device, context);
    }
    void forward(const Tensor& x, const Tensor& y, plexus::Mode) override {
        x.device()->softmax(x, y);
    }
    void backward(const Tensor&, const Tensor& y, const Tensor& dy, const Tensor* dx) override {
        if (dx) y.device()->softmax_backward(y, dy, *dx);
    }

private:
    const char* name() const override { return "softmax"; }
};

// Identity, y = x: a named no-op so an experiment can say "no activation" explicitly.
class Linear final : public Activation {
public:
    explicit Linear(const plexus::Params&) {}
    void forward(const Tensor& x, const Tensor& y, plexus::Mode) override {
        x.device()->copy(x, y);
    }
    void backward(const Tensor&, const Tensor&, const Tensor& dy, const Tensor* dx) override {
        if (dx) dy.device()->copy(dy, *dx);
    }

private:
    const char* name() const override { return "linear"; }
};

}  // namespace

PLEXUS_PLUGIN(
    plexus::component<LeakyRelu>("leaky_relu", "0.1.0",
                                 "Leaky ReLU: y = x for x > 0, alpha*x otherwise",
                                 kLeakyReluParams),
    plexus::component<Elu>("elu", "0.1.0",
                           "Exponential linear unit: y = x for x > 0, alpha*(exp(x)-1) otherwise",
                           kEluParams),
    plexus::component<Sigmoid>("sigmoid", "0.1.0", "Logistic sigmoid: y = 1/(1+exp(-x))"),
    plexus::component<Tanh>("tanh", "0.1.0", "Hyperbolic tangent: y = tanh(x)"),
    plexus::component<Softmax>("softmax", "0.1.0",
                               "Row-wise softmax: y = exp(x)/sum(exp(x)) over each sample"),
    plexus::component<Linear>("linear", "0.1.0", "Identity: y = x"))
