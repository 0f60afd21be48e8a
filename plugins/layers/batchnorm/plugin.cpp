// Batch normalization (Ioffe & Szegedy, 2015, "Batch Normalization: Accelerating Deep Network
// Training by Reducing Internal Covariate Shift"): normalizes each feature (column) over the
// mini-batch, then scales and shifts with learned gamma and beta; running statistics, kept as
// an exponential moving average in the Keras convention, are used at inference.
//
// A device may run a whole pass as one kernel through try_fused(fused::BatchNormForwardTrain /
// BatchNormForwardInfer / BatchNormBackward, plexus/fused.hpp); the primitive path below is
// the reference. Every workspace is allocated in build() for the largest batch and used
// through row views, so forward and backward allocate nothing.
#include <limits>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"

namespace {

using plexus::Axis;
using plexus::BinaryOp;
using plexus::ParamSpec;
using plexus::ParamType;
using plexus::Tensor;
using plexus::UnaryOp;

constexpr double kInf = std::numeric_limits<double>::infinity();

constexpr ParamSpec kBatchNormParams[] = {
    {"momentum", ParamType::real, "0.99", 0, 1, nullptr,
     "Weight of the old value in the running averages: moving = momentum*moving + "
     "(1-momentum)*batch (Keras convention; PyTorch's momentum is 1 - this)",
     plexus::kMaxExclusive},
    {"epsilon", ParamType::real, "1e-3", 0, kInf, nullptr,
     "Added to the variance before the square root", plexus::kMinExclusive},
    {"center", ParamType::boolean, "true", -kInf, kInf, nullptr,
     "Learn a shift beta (initialised to 0)", 0},
    {"scale", ParamType::boolean, "true", -kInf, kInf, nullptr,
     "Learn a scale gamma (initialised to 1)", 0},
    {"fused", ParamType::boolean, "true", -kInf, kInf, nullptr,
     "Use the device's fused kernel when it has one (false forces the primitive path)", 0},
};

class BatchNorm final : public plexus::Layer {
public:
    explicit BatchNorm(const plexus::Params& params)
        : momentum_(static_cast<float>(params.get_real("momentum"))),
          epsilon_(static_cast<float>(params.get_real("epsilon"))),
          center_(params.get_bool("center")),
          scale_(params.get_bool("scale")),
          fused_(params.get_bool("fused")) {
        gamma_.name = "gamma";
        beta_.name = "beta";
    }

    plexus::Shape build(const plexus::Shape& input, plexus::Device& device,
                        const plexus::BuildContext&) override {
        if (input.rank() < 2 || input.cols() == 0)
            throw plexus::ShapeError("batchnorm: expected input [batch, features...], got " +
                                     input.str());
        features_ = input.cols();
        const plexus::Shape row{features_}, batch{input.rows(), features_};
        gamma_.value = device.alloc(row);
        gamma_.grad = device.alloc(row);
        beta_.value = device.alloc(row);
        beta_.grad = device.alloc(row);
        device.fill(gamma_.value, 1.0f);
        device.fill(beta_.value, 0.0f);
        device.fill(gamma_.grad, 0.0f);
        device.fill(beta_.grad, 0.0f);
        moving_mean_ = device.alloc(row);
        moving_variance_ = device.alloc(row);
        device.fill(moving_mean_, 0.0f);
        device.fill(moving_variance_, 1.0f);
        mean_ = device.alloc(row);
        variance_ = device.alloc(row);
        invstd_ = device.alloc(row);
        coef_ = device.alloc(row);
        shift_ = device.alloc(row);
        xhat_ = device.alloc(batch);
        tmp_ = device.alloc(batch);
        trained_rows_ = 0;
        return input;
    }

    void forward(const Tensor& x, const Tensor& y, plexus::Mode mode) override {
        check(x, "forward");
        plexus::Device& device = *x.device();
        const std::size_t n = x.rows();
        const Tensor x2 = x.reshaped({n, features_});
        Tensor y2 = y.reshaped({n, features_});
        Tensor xhat = xhat_.rows(0, n);
        if (mode == plexus::Mode::infer) {
            trained_rows_ = 0;
            if (fused_ && device.try_fused(plexus::fused::BatchNormForwardInfer{
                              .x = x2,
                              .gamma = gamma(),
                              .beta = beta(),
                              .moving_mean = moving_mean_,
                              .moving_variance = moving_variance_,
                              .y = y2,
                              .epsilon = epsilon_}))
                return;
            // Fold the statistics into one affine map: y = x*coef + shift with
            // coef = gamma/sqrt(var+eps), shift = beta - mean*coef.
            device.unary(UnaryOp::add_scalar, moving_variance_, coef_, epsilon_);
            device.unary(UnaryOp::sqrt, coef_, coef_);
            device.unary(UnaryOp::reciprocal, coef_, coef_);
            if (scale_) device.binary(BinaryOp::mul, coef_, gamma_.value, coef_);
            device.binary(BinaryOp::mul, moving_mean_, coef_, shift_);
            if (center_)
                device.binary(BinaryOp::sub, beta_.value, shift_, shift_);
            else
                device.unary(UnaryOp::neg, shift_, shift_);
            device.binary(BinaryOp::mul, x2, coef_, y2);
            device.binary(BinaryOp::add, y2, shift_, y2);
            return;
        }
        if (n < 2)
            throw plexus::ShapeError(
                "batchnorm: a training batch of 1 sample has no variance; use batch_size >= 2 "
                "(or drop the last partial batch)");
        trained_rows_ = n;
        if (fused_ && device.try_fused(plexus::fused::BatchNormForwardTrain{
                          .x = x2,
                          .gamma = gamma(),
                          .beta = beta(),
                          .y = y2,
                          .xhat = xhat,
                          .mean = mean_,
                          .invstd = invstd_,
                          .moving_mean = moving_mean_,
                          .moving_variance = moving_variance_,
                          .epsilon = epsilon_,
                          .momentum = momentum_}))
            return;
        const Tensor tmp = tmp_.rows(0, n);
        device.reduce(plexus::ReduceOp::mean, x2, Axis::rows, mean_);
        device.binary(BinaryOp::sub, x2, mean_, xhat);  // centred x, normalised below
        device.unary(UnaryOp::square, xhat, tmp);
        device.reduce(plexus::ReduceOp::mean, tmp, Axis::rows, variance_);  // biased
        device.unary(UnaryOp::add_scalar, variance_, invstd_, epsilon_);
        device.unary(UnaryOp::sqrt, invstd_, invstd_);
        device.unary(UnaryOp::reciprocal, invstd_, invstd_);
        device.binary(BinaryOp::mul, xhat, invstd_, xhat);
        affine(device, xhat, y2);
        device.axpby(1.0f - momentum_, mean_, momentum_, moving_mean_);
        device.axpby(1.0f - momentum_, variance_, momentum_, moving_variance_);
    }

    // dx = gamma*invstd/N * (N*dy - sum(dy) - xhat*sum(dy*xhat)); dgamma = sum(dy*xhat);
    // dbeta = sum(dy). dx is written last, so it may alias dy.
    void backward(const Tensor& x, const Tensor&, const Tensor& dy, const Tensor* dx) override {
        check(x, "backward");
        const std::size_t n = x.rows();
        if (trained_rows_ != n)
            throw plexus::ShapeError(
                "batchnorm: backward needs a train-mode forward of the same batch first");
        plexus::Device& device = *x.device();
        const Tensor dy2 = dy.reshaped({n, features_});
        const Tensor xhat = xhat_.rows(0, n);
        Tensor dx2;
        if (dx) dx2 = dx->reshaped({n, features_});
        // Without scale/center the sums still feed dx; they land in the unused grads.
        if (fused_ && device.try_fused(plexus::fused::BatchNormBackward{.dy = dy2,
                                                                       .xhat = xhat,
                                                                       .gamma = gamma(),
                                                                       .invstd = invstd_,
                                                                       .dx = dx ? &dx2 : nullptr,
                                                                       .dgamma = gamma_.grad,
                                                                       .dbeta = beta_.grad}))
            return;
        device.reduce(plexus::ReduceOp::sum, dy2, Axis::rows, beta_.grad);
        const Tensor tmp = tmp_.rows(0, n);
        device.binary(BinaryOp::mul, dy2, xhat, tmp);
        device.reduce(plexus::ReduceOp::sum, tmp, Axis::rows, gamma_.grad);
        if (!dx) return;
        device.binary(BinaryOp::mul, xhat, gamma_.grad, tmp);
        device.binary(BinaryOp::add, tmp, beta_.grad, tmp);
        device.axpby(static_cast<float>(n), dy2, -1.0f, tmp);
        device.unary(UnaryOp::scale, invstd_, coef_, 1.0f / static_cast<float>(n));
        if (scale_) device.binary(BinaryOp::mul, coef_, gamma_.value, coef_);
        device.binary(BinaryOp::mul, tmp, coef_, dx2);
    }

    std::vector<plexus::Parameter*> parameters() override {
        std::vector<plexus::Parameter*> out;
        if (scale_) out.push_back(&gamma_);
        if (center_) out.push_back(&beta_);
        return out;
    }

    std::vector<plexus::NamedTensor> state() override {
        return {{"moving_mean", moving_mean_}, {"moving_variance", moving_variance_}};
    }

private:
    const Tensor* gamma() const { return scale_ ? &gamma_.value : nullptr; }
    const Tensor* beta() const { return center_ ? &beta_.value : nullptr; }

    void affine(plexus::Device& device, const Tensor& xhat, const Tensor& y) const {
        if (scale_)
            device.binary(BinaryOp::mul, xhat, gamma_.value, y);
        else
            device.copy(xhat, y);
        if (center_) device.binary(BinaryOp::add, y, beta_.value, y);
    }

    void check(const Tensor& x, const char* where) const {
        if (xhat_.empty())
            throw plexus::ShapeError(std::string("batchnorm: ") + where +
                                     " called before build()");
        if (x.cols() != features_ || x.rows() > xhat_.rows())
            throw plexus::ShapeError("batchnorm: built for up to " +
                                     std::to_string(xhat_.rows()) + " rows of " +
                                     std::to_string(features_) + " features, got " +
                                     x.shape().str());
    }

    float momentum_;
    float epsilon_;
    bool center_;
    bool scale_;
    bool fused_;
    std::size_t features_ = 0;
    std::size_t trained_rows_ = 0;  // rows of the last train-mode forward; 0 after infer
    plexus::Parameter gamma_;
    plexus::Parameter beta_;
    Tensor moving_mean_, moving_variance_;
    Tensor mean_, variance_, invstd_, coef_, shift_;  // [features]
    Tensor xhat_, tmp_;                               // [max batch, features]
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<BatchNorm>(
    "batchnorm", "0.1.0",
    "Batch normalization (Ioffe & Szegedy, 2015): per-feature batch statistics, learned "
    "gamma/beta, running averages at inference",
    kBatchNormParams))
