// Regression losses, one library: mse and mae. Both take the mean of an elementwise penalty
// on the residual p - t over all elements, so they share shape checks, workspaces and the
// forward/backward skeleton; each adds only its penalty and its derivative.
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
        mean_ = device.alloc({1});
    }

    float forward(const Tensor& pred, const Tensor& target) override {
        const std::size_t n = check(pred, target);
        if (n == 0) return 0.0f;
        Device& device = *pred.device();
        const Tensor work = diff_.rows(0, n);
        device.binary(plexus::BinaryOp::sub, pred, target, work);
        penalty(device, work);
        device.reduce(plexus::ReduceOp::mean, work, plexus::Axis::all, mean_);
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
    explicit ElementwiseRegressionLoss(const char* name) : name_(name) {}

private:
    // In place: the residual r = p - t becomes the penalty per element.
    virtual void penalty(Device& device, const Tensor& r) const = 0;
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
    std::size_t cols_ = 0;
    Tensor diff_;  // [max rows, cols]; row views serve smaller batches
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
    void penalty(Device& device, const Tensor& r) const override {
        device.unary(UnaryOp::square, r, r);
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
    void penalty(Device& device, const Tensor& r) const override {
        device.unary(UnaryOp::abs, r, r);
    }
    // dL/dp = sign(p - t) / numel; at p == t the subgradient 0 is used (as PyTorch does).
    void gradient(Device& device, const Tensor& r, float numel) const override {
        device.unary(UnaryOp::sign, r, r);
        device.unary(UnaryOp::scale, r, r, 1.0f / numel);
    }
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<MeanSquaredError>(
                  "mse", "0.1.0", "Mean squared error over all elements, for regression"),
              plexus::component<MeanAbsoluteError>(
                  "mae", "0.1.0", "Mean absolute error over all elements, robust to outliers"))
