// Regression losses, one library: mse, mae and huber. Each takes the mean of an elementwise
// penalty on the residual p - t over all elements, so they share shape checks, workspaces and
// the forward/backward skeleton; each adds only its penalty and its derivative.
#include <limits>
#include <string>

#include "plexus/plexus.hpp"

namespace {

using plexus::Device;
using plexus::Tensor;
using plexus::UnaryOp;

class ElementwiseRegressionLoss : public plexus::Loss {
public:
    void build(const plexus::Shape& pred, Device& device) override {
        if (pred.rank() < 1 || pred.numel() == 0)
            throw plexus::ShapeError(std::string(name_) +
                                     ": expected predictions [batch, outputs...], got " +
                                     pred.str());
        cols_ = pred.cols();
        diff_ = device.alloc({pred.rows(), cols_});
        if (needs_scratch_) scratch_ = device.alloc({pred.rows(), cols_});
        mean_ = device.alloc({1});
    }

    float forward(const Tensor& pred, const Tensor& target) override {
        const std::size_t n = check(pred, target);
        if (n == 0) return 0.0f;
        Device& device = *pred.device();
        const Tensor work = diff_.rows(0, n);
        device.binary(plexus::BinaryOp::sub, pred, target, work);
        const Tensor penalties =
            penalty(device, work, needs_scratch_ ? scratch_.rows(0, n) : Tensor{});
        device.reduce(plexus::ReduceOp::mean, penalties, plexus::Axis::all, mean_);
        return device.download_scalar(mean_);
    }

    plexus::TargetKind target_kind() const override { return plexus::TargetKind::values; }

    void backward(const Tensor& pred, const Tensor& target, const Tensor& dpred) override {
        const std::size_t n = check(pred, target);
        if (n == 0) return;
        Device& device = *pred.device();
        device.binary(plexus::BinaryOp::sub, pred, target, dpred);
        gradient(device, dpred, static_cast<float>(pred.numel()));
    }

protected:
    // `needs_scratch`: penalty() gets a second tensor of r's shape to work in.
    explicit ElementwiseRegressionLoss(const char* name, bool needs_scratch = false)
        : name_(name), needs_scratch_(needs_scratch) {}

private:
    // The penalty per element of the residual r = p - t, written over r or `scratch` (r's
    // shape, contents undefined; empty unless the constructor asked for it), whichever it
    // returns; r may be overwritten either way.
    virtual Tensor penalty(Device& device, const Tensor& r, const Tensor& scratch) const = 0;
    // In place: the residual r becomes dL/dp of the mean over `numel` elements.
    virtual void gradient(Device& device, const Tensor& r, float numel) const = 0;

    std::size_t check(const Tensor& pred, const Tensor& target) const {
        if (diff_.empty()) throw plexus::ShapeError(std::string(name_) + ": used before build()");
        if (pred.cols() != cols_ || pred.rows() > diff_.rows() || target.numel() != pred.numel())
            throw plexus::ShapeError(std::string(name_) + ": built for up to " +
                                     std::to_string(diff_.rows()) + " rows of " +
                                     std::to_string(cols_) + " values, got pred " +
                                     pred.shape().str() + " and target " + target.shape().str());
        return pred.rows();
    }

    const char* name_;
    bool needs_scratch_;
    std::size_t cols_ = 0;
    Tensor diff_;     // [max rows, cols]; row views serve smaller batches
    Tensor scratch_;  // as diff_, when needs_scratch_
    Tensor mean_;
};

// Mean squared error: L = mean over all elements of (p - t)², the negative log-likelihood of
// a Gaussian with fixed variance up to constants (Goodfellow et al., "Deep Learning", 2016,
// §5.5.1), so its minimiser is the conditional mean. The default loss for regression; it
// punishes large errors quadratically, which makes it sensitive to outliers (see mae).
class MeanSquaredError final : public ElementwiseRegressionLoss {
public:
    explicit MeanSquaredError(const plexus::Params&) : ElementwiseRegressionLoss("mse") {}

private:
    Tensor penalty(Device& device, const Tensor& r, const Tensor&) const override {
        device.unary(UnaryOp::square, r, r);
        return r;
    }
    // dL/dp = 2 (p - t) / numel
    void gradient(Device& device, const Tensor& r, float numel) const override {
        device.unary(UnaryOp::scale, r, r, 2.0f / numel);
    }
};

// Mean absolute error: L = mean over all elements of |p - t|, the negative log-likelihood of
// a Laplace distribution up to constants, so its minimiser is the conditional median
// (Hastie, Tibshirani & Friedman, "The Elements of Statistical Learning", 2009, §10.6).
// Errors count linearly, so a few outliers pull the fit far less than under mse.
class MeanAbsoluteError final : public ElementwiseRegressionLoss {
public:
    explicit MeanAbsoluteError(const plexus::Params&) : ElementwiseRegressionLoss("mae") {}

private:
    Tensor penalty(Device& device, const Tensor& r, const Tensor&) const override {
        device.unary(UnaryOp::abs, r, r);
        return r;
    }
    // dL/dp = sign(p - t) / numel; at p == t the subgradient 0 is used (as PyTorch does).
    void gradient(Device& device, const Tensor& r, float numel) const override {
        device.unary(UnaryOp::sign, r, r);
        device.unary(UnaryOp::scale, r, r, 1.0f / numel);
    }
};

constexpr plexus::ParamSpec kHuberParams[] = {
    {"delta", plexus::ParamType::real, "1", 0.0, std::numeric_limits<double>::infinity(), nullptr,
     "residual size where the penalty turns from quadratic to linear, in target units",
     plexus::kMinExclusive},
};

// Huber loss (Huber, "Robust Estimation of a Location Parameter", 1964): 0.5 r² for
// |r| <= delta and delta (|r| - 0.5 delta) beyond, the mean over all elements, as PyTorch's
// HuberLoss and Keras' Huber. Quadratic near the fit like mse, so its gradient shrinks at the
// optimum; linear in the tails like mae, so outliers pull with a force of at most delta.
class Huber final : public ElementwiseRegressionLoss {
public:
    explicit Huber(const plexus::Params& params)
        : ElementwiseRegressionLoss("huber", true),
          delta_(static_cast<float>(params.get_real("delta"))) {}

private:
    // With q = min(|r|, delta) the two branches are one formula: 0.5 q² + delta (|r| - q).
    Tensor penalty(Device& device, const Tensor& r, const Tensor& q) const override {
        device.unary(UnaryOp::abs, r, r);
        device.unary(UnaryOp::clip, r, q, delta_);  // |r| >= 0, so clip is min(|r|, delta)
        device.binary(plexus::BinaryOp::sub, r, q, r);
        device.unary(UnaryOp::square, q, q);
        device.axpby(delta_, r, 0.5f, q);
        return q;
    }
    // dL/dp = clamp(p - t, -delta, delta) / numel
    void gradient(Device& device, const Tensor& r, float numel) const override {
        device.unary(UnaryOp::clip, r, r, delta_);
        device.unary(UnaryOp::scale, r, r, 1.0f / numel);
    }

    float delta_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<MeanSquaredError>(
                  "mse", "0.1.0", "Mean squared error over all elements, for regression"),
              plexus::component<MeanAbsoluteError>(
                  "mae", "0.1.0", "Mean absolute error over all elements, robust to outliers"),
              plexus::component<Huber>(
                  "huber", "0.1.0",
                  "Huber loss: squared near the fit, linear beyond delta (robust, smooth)",
                  kHuberParams))
