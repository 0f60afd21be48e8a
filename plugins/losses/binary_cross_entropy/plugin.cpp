// Binary cross-entropy on logits: each output is an independent Bernoulli probability
// sigmoid(x), so one unit serves binary classification and K units serve multi-label
// classification (Goodfellow et al., "Deep Learning", 2016, §6.2.2.2). As in PyTorch's
// BCEWithLogitsLoss, `pos_weight` multiplies the positive term to trade recall for precision
// on imbalanced labels:
//
//   l = -[pw·t·log σ(x) + (1-t)·log(1-σ(x))] = (1 + (pw-1)·t)·softplus(x) - pw·t·x
//
// with softplus(x) = max(x, 0) + log(1 + exp(-|x|)), which never overflows, so logits of
// ±1000 give finite losses. Taking logits rather than probabilities also gives the gradient
// σ(x)·(1 + (pw-1)·t) - pw·t, which never divides by a small probability.
#include <limits>
#include <string>

#include "plexus/plexus.hpp"

namespace {

constexpr plexus::ParamSpec kParams[] = {
    {"pos_weight", plexus::ParamType::real, "1", 0.0, std::numeric_limits<double>::infinity(),
     nullptr,
     "weight of the positive term (PyTorch BCEWithLogitsLoss pos_weight); >1 favours recall",
     plexus::kMinExclusive},
};

class BinaryCrossEntropy final : public plexus::Loss {
public:
    explicit BinaryCrossEntropy(const plexus::Params& params)
        : pos_weight_(static_cast<float>(params.get_real("pos_weight"))) {}

    void build(const plexus::Shape& pred, plexus::Device& device) override {
        if (pred.rank() < 1 || pred.numel() == 0)
            throw plexus::ShapeError(
                "binary_cross_entropy: expected logits [batch, outputs] (one column per label), "
                "got " +
                pred.str());
        cols_ = pred.cols();
        work_ = device.alloc({pred.rows(), cols_});
        term_ = device.alloc({pred.rows(), cols_});
        mean_ = device.alloc({1});
    }

    float forward(const plexus::Tensor& pred, const plexus::Tensor& target) override {
        const std::size_t n = check(pred, target);
        if (n == 0) return 0.0f;
        plexus::Device& device = *pred.device();
        const plexus::Tensor loss = work_.rows(0, n);
        const plexus::Tensor term = term_.rows(0, n);
        // softplus(x) = max(x, 0) + log(1 + exp(-|x|))
        device.unary(plexus::UnaryOp::abs, pred, loss);
        device.unary(plexus::UnaryOp::neg, loss, loss);
        device.unary(plexus::UnaryOp::exp, loss, loss);
        device.unary(plexus::UnaryOp::add_scalar, loss, loss, 1.0f);
        device.unary(plexus::UnaryOp::log, loss, loss);
        device.unary(plexus::UnaryOp::relu, pred, term);
        device.binary(plexus::BinaryOp::add, loss, term, loss);
        if (pos_weight_ != 1.0f) {
            positive_factor(device, target, term);
            device.binary(plexus::BinaryOp::mul, loss, term, loss);
        }
        device.binary(plexus::BinaryOp::mul, target, pred, term);
        device.axpby(-pos_weight_, term, 1.0f, loss);
        device.reduce(plexus::ReduceOp::mean, loss, plexus::Axis::all, mean_);
        return device.download_scalar(mean_);
    }

    // dL/dx = (σ(x)·(1 + (pw-1)·t) - pw·t) / numel
    void backward(const plexus::Tensor& pred, const plexus::Tensor& target,
                  const plexus::Tensor& dpred) override {
        const std::size_t n = check(pred, target);
        if (n == 0) return;
        plexus::Device& device = *pred.device();
        device.unary(plexus::UnaryOp::sigmoid, pred, dpred);
        if (pos_weight_ != 1.0f) {
            const plexus::Tensor factor = work_.rows(0, n);
            positive_factor(device, target, factor);
            device.binary(plexus::BinaryOp::mul, dpred, factor, dpred);
        }
        device.axpby(-pos_weight_, target, 1.0f, dpred);
        device.unary(plexus::UnaryOp::scale, dpred, dpred, 1.0f / static_cast<float>(pred.numel()));
    }

private:
    // y = 1 + (pw - 1)·t
    void positive_factor(plexus::Device& device, const plexus::Tensor& target,
                         const plexus::Tensor& y) const {
        device.unary(plexus::UnaryOp::scale, target, y, pos_weight_ - 1.0f);
        device.unary(plexus::UnaryOp::add_scalar, y, y, 1.0f);
    }

    std::size_t check(const plexus::Tensor& pred, const plexus::Tensor& target) const {
        if (work_.empty()) throw plexus::ShapeError("binary_cross_entropy: used before build()");
        if (pred.cols() != cols_ || pred.rows() > work_.rows() || target.numel() != pred.numel())
            throw plexus::ShapeError(
                "binary_cross_entropy: built for up to " + std::to_string(work_.rows()) +
                " rows of " + std::to_string(cols_) + " logits, got pred " + pred.shape().str() +
                " and target " + target.shape().str() + " (targets need the logits' shape)");
        return pred.rows();
    }

    float pos_weight_;
    std::size_t cols_ = 0;
    plexus::Tensor work_;  // [max rows, cols]: per-element loss, or the positive factor
    plexus::Tensor term_;  // [max rows, cols]: max(x, 0), the positive factor, then t·x
    plexus::Tensor mean_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<BinaryCrossEntropy>(
    "binary_cross_entropy", "0.1.0",
    "Sigmoid cross-entropy on logits for binary and multi-label targets, with pos_weight", kParams))
