// Mean squared error: L = mean over all elements of (p - t)², the negative log-likelihood of
// a Gaussian with fixed variance up to constants (Goodfellow et al., "Deep Learning", 2016,
// §5.5.1), so its minimiser is the conditional mean. The default loss for regression; it
// punishes large errors quadratically, which makes it sensitive to outliers (see mae).
#include <string>

#include "plexus/plexus.hpp"

namespace {

class MeanSquaredError final : public plexus::Loss {
public:
    explicit MeanSquaredError(const plexus::Params&) {}

    void build(const plexus::Shape& pred, plexus::Device& device) override {
        if (pred.rank() < 1 || pred.numel() == 0)
            throw plexus::ShapeError("mse: expected predictions [batch, outputs...], got " +
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
        device.unary(plexus::UnaryOp::square, work, work);
        device.reduce(plexus::ReduceOp::mean, work, plexus::Axis::all, mean_);
        return device.download_scalar(mean_);
    }

    // dL/dp = 2 (p - t) / numel
    void backward(const plexus::Tensor& pred, const plexus::Tensor& target,
                  const plexus::Tensor& dpred) override {
        const std::size_t n = check(pred, target);
        if (n == 0) return;
        plexus::Device& device = *pred.device();
        device.binary(plexus::BinaryOp::sub, pred, target, dpred);
        device.unary(plexus::UnaryOp::scale, dpred, dpred, 2.0f / static_cast<float>(pred.numel()));
    }

private:
    std::size_t check(const plexus::Tensor& pred, const plexus::Tensor& target) const {
        if (diff_.empty()) throw plexus::ShapeError("mse: used before build()");
        if (pred.cols() != cols_ || pred.rows() > diff_.rows() || target.numel() != pred.numel())
            throw plexus::ShapeError("mse: built for up to " + std::to_string(diff_.rows()) +
                                     " rows of " + std::to_string(cols_) + " values, got pred " +
                                     pred.shape().str() + " and target " + target.shape().str());
        return pred.rows();
    }

    std::size_t cols_ = 0;
    plexus::Tensor diff_;  // [max rows, cols]; row views serve smaller batches
    plexus::Tensor mean_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<MeanSquaredError>(
    "mse", "0.1.0", "Mean squared error over all elements, for regression"))
