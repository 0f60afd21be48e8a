// Mean absolute error: L = mean over all elements of |p - t|, the negative log-likelihood of
// a Laplace distribution up to constants, so its minimiser is the conditional median
// (Hastie, Tibshirani & Friedman, "The Elements of Statistical Learning", 2009, §10.6).
// Errors count linearly, so a few outliers pull the fit far less than under mse.
#include <string>

#include "plexus/plexus.hpp"

namespace {

class MeanAbsoluteError final : public plexus::Loss {
public:
    explicit MeanAbsoluteError(const plexus::Params&) {}

    void build(const plexus::Shape& pred, plexus::Device& device) override {
        if (pred.rank() < 1 || pred.numel() == 0)
            throw plexus::ShapeError("mae: expected predictions [batch, outputs...], got " +
                                     pred.str());
        cols_ = pred.cols();
        diff_ = device.alloc({pred.rows(), cols_});
        mean_ = device.alloc({1});
    }

    float forward(const plexus::Tensor& pred, const plexus::Tensor& target) override {
        const std::size_t n = check(pred, target);
        if (n == 0) return 0.0f;
        plexus::Device& device = *pred.device();
        const plexus::Tensor work = diff_.rows(0, n);
        device.binary(plexus::BinaryOp::sub, pred, target, work);
        device.unary(plexus::UnaryOp::abs, work, work);
        device.reduce(plexus::ReduceOp::mean, work, plexus::Axis::all, mean_);
        return device.download_scalar(mean_);
    }

    // dL/dp = sign(p - t) / numel; at p == t the subgradient 0 is used (as PyTorch does).
    void backward(const plexus::Tensor& pred, const plexus::Tensor& target,
                  const plexus::Tensor& dpred) override {
        const std::size_t n = check(pred, target);
        if (n == 0) return;
        plexus::Device& device = *pred.device();
        device.binary(plexus::BinaryOp::sub, pred, target, dpred);
        device.unary(plexus::UnaryOp::sign, dpred, dpred);
        device.unary(plexus::UnaryOp::scale, dpred, dpred, 1.0f / static_cast<float>(pred.numel()));
    }

private:
    std::size_t check(const plexus::Tensor& pred, const plexus::Tensor& target) const {
        if (diff_.empty()) throw plexus::ShapeError("mae: used before build()");
        if (pred.cols() != cols_ || pred.rows() > diff_.rows() || target.numel() != pred.numel())
            throw plexus::ShapeError("mae: built for up to " + std::to_string(diff_.rows()) +
                                     " rows of " + std::to_string(cols_) + " values, got pred " +
                                     pred.shape().str() + " and target " + target.shape().str());
        return pred.rows();
    }

    std::size_t cols_ = 0;
    plexus::Tensor diff_;  // [max rows, cols]; row views serve smaller batches
    plexus::Tensor mean_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<MeanAbsoluteError>(
    "mae", "0.1.0", "Mean absolute error over all elements, robust to outliers"))
