// Softmax cross-entropy: L = -mean_rows sum_j t_j log softmax(p)_j, the negative
// log-likelihood of a categorical model over raw logits (Bridle, 1990; Goodfellow et al.,
// "Deep Learning", 2016, §6.2.2.3). Taking logits rather than probabilities lets the forward
// use a stable log-softmax (large logits stay finite) and the backward collapse to
// (softmax(p) - t) / rows, which never divides by a tiny probability.
#include <string>

#include "plexus/plexus.hpp"

namespace {

class SoftmaxCrossEntropy final : public plexus::Loss {
public:
    explicit SoftmaxCrossEntropy(const plexus::Params&) {}

    void build(const plexus::Shape& pred, plexus::Device& device) override {
        if (pred.rank() < 2 || pred.cols() < 2)
            throw plexus::ShapeError(
                "softmax_cross_entropy: expected logits [batch, classes] with at least 2 "
                "classes, got " +
                pred.str() + " (for one output use a sigmoid loss)");
        cols_ = pred.cols();
        log_probs_ = device.alloc({pred.rows(), cols_});
        sum_ = device.alloc({1});
    }

    float forward(const plexus::Tensor& pred, const plexus::Tensor& target) override {
        const std::size_t n = check(pred, target);
        if (n == 0) return 0.0f;
        plexus::Device& device = *pred.device();
        const plexus::Tensor work = log_probs_.rows(0, n);
        device.softmax(pred, work, /*log=*/true);
        device.binary(plexus::BinaryOp::mul, work, target, work);
        device.reduce(plexus::ReduceOp::sum, work, plexus::Axis::all, sum_);
        return -device.download_scalar(sum_) / static_cast<float>(n);
    }

    // Fused key "softmax_cross_entropy.backward": inputs {pred, target}, outputs {dpred},
    // scalars {1 / rows}; computes dpred = (softmax(pred) - target) * scalars[0].
    void backward(const plexus::Tensor& pred, const plexus::Tensor& target,
                  const plexus::Tensor& dpred) override {
        const std::size_t n = check(pred, target);
        if (n == 0) return;
        plexus::Device& device = *pred.device();
        const float scale = 1.0f / static_cast<float>(n);
        const plexus::Tensor* inputs[] = {&pred, &target};
        plexus::Tensor out = dpred;
        plexus::Tensor* outputs[] = {&out};
        const float scalars[] = {scale};
        if (device.try_fused("softmax_cross_entropy.backward", {inputs, outputs, scalars})) return;
        device.softmax(pred, dpred);
        device.binary(plexus::BinaryOp::sub, dpred, target, dpred);
        device.unary(plexus::UnaryOp::scale, dpred, dpred, scale);
    }

private:
    std::size_t check(const plexus::Tensor& pred, const plexus::Tensor& target) const {
        if (log_probs_.empty())
            throw plexus::ShapeError("softmax_cross_entropy: used before build()");
        if (pred.cols() != cols_ || pred.rows() > log_probs_.rows() ||
            target.numel() != pred.numel())
            throw plexus::ShapeError("softmax_cross_entropy: built for up to " +
                                     std::to_string(log_probs_.rows()) + " rows of " +
                                     std::to_string(cols_) + " classes, got pred " +
                                     pred.shape().str() + " and target " + target.shape().str());
        return pred.rows();
    }

    std::size_t cols_ = 0;
    plexus::Tensor log_probs_;  // [max rows, classes]; row views serve smaller batches
    plexus::Tensor sum_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<SoftmaxCrossEntropy>(
    "softmax_cross_entropy", "0.1.0",
    "Cross-entropy of softmax(logits) against one-hot targets, numerically stable"))
