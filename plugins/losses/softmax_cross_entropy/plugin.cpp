// Softmax cross-entropy: L = -mean_rows sum_j t_j log softmax(p)_j, the negative
// log-likelihood of a categorical model over raw logits (Bridle, 1990; Goodfellow et al.,
// "Deep Learning", 2016, §6.2.2.3). Taking logits rather than probabilities lets the forward
// use a stable log-softmax (large logits stay finite) and the backward collapse to
// (softmax(p) - t) / rows, which never divides by a tiny probability.
//
// Two options from the tuning toolkit:
// - label_smoothing ε (Szegedy et al., 2016, "Rethinking the Inception Architecture", §7):
//   targets become t·(1-ε) + ε/C, so the model is never pushed towards infinite logits.
// - class_weight (Keras `class_weight`, King & Zeng, 2001): sample i counts with the weight
//   s_i = Σ_j w_j t_ij of its class, L = (1/N) Σ_i s_i·CE_i; `balanced` takes
//   w_c = N / (C·count_c) from the training split's counts (scikit-learn's formula).
#include <charconv>
#include <cmath>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "plexus/plexus.hpp"

namespace {

using plexus::Axis;
using plexus::BinaryOp;
using plexus::ReduceOp;
using plexus::Tensor;
using plexus::Transpose;
using plexus::UnaryOp;

constexpr plexus::ParamSpec kParams[] = {
    {"label_smoothing", plexus::ParamType::real, "0", 0.0, 1.0, nullptr,
     "ε in [0, 1): targets become t·(1-ε) + ε/classes (Keras/PyTorch semantics)",
     plexus::kMaxExclusive},
    {"class_weight", plexus::ParamType::string, "none", 0.0, 0.0, nullptr,
     "none | balanced (N / (classes·count_c) from the training split) | w0,w1,... "
     "(one non-negative weight per class)"},
};

enum class Weighting { none, balanced, list };

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// "w0,w1,...": non-negative numbers finite in float32, at least one positive.
std::vector<float> parse_weight_list(const std::string& text) {
    const std::string bad = "softmax_cross_entropy: class_weight='" + text + "' ";
    std::vector<float> weights;
    bool positive = false;
    std::string_view rest = text;
    while (true) {
        const std::size_t comma = rest.find(',');
        const std::string_view item = trim(rest.substr(0, comma));
        double w = 0.0;
        const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), w);
        if (item.empty() || ec != std::errc() || end != item.data() + item.size())
            throw plexus::ParamError(
                bad + "is not valid: item " + std::to_string(weights.size() + 1) + " ('" +
                std::string(item) +
                "') is not a number; use none, balanced, or one weight per class such as 1,2.5,1");
        if (!std::isfinite(static_cast<float>(w)) || w < 0.0)
            throw plexus::ParamError(bad + "has the weight " + std::string(item) +
                                     "; class weights must be finite and >= 0");
        positive = positive || w > 0.0;
        weights.push_back(static_cast<float>(w));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    if (!positive)
        throw plexus::ParamError(bad + "has no positive weight; every sample would count 0");
    return weights;
}

class SoftmaxCrossEntropy final : public plexus::Loss {
public:
    explicit SoftmaxCrossEntropy(const plexus::Params& params)
        : smoothing_(static_cast<float>(params.get_real("label_smoothing"))) {
        const std::string& cw = params.get_string("class_weight");
        if (cw == "none")
            weighting_ = Weighting::none;
        else if (cw == "balanced")
            weighting_ = Weighting::balanced;
        else {
            weighting_ = Weighting::list;
            list_ = parse_weight_list(cw);
        }
    }

    void set_class_counts(const std::vector<std::size_t>& counts) override { counts_ = counts; }

    void build(const plexus::Shape& pred, plexus::Device& device) override {
        if (pred.rank() < 2 || pred.cols() < 2)
            throw plexus::ShapeError(
                "softmax_cross_entropy: expected logits [batch, classes] with at least 2 "
                "classes, got " +
                pred.str() + " (for one output use binary_cross_entropy)");
        cols_ = pred.cols();
        log_probs_ = Tensor();  // unbuilt until the class weights fit
        const std::vector<float> w =
            weighting_ == Weighting::none ? std::vector<float>() : class_weights();
        const std::size_t rows = pred.rows();
        log_probs_ = device.alloc({rows, cols_});
        sum_ = device.alloc({1});
        if (smoothing_ > 0.0f) smoothed_ = device.alloc({rows, cols_});
        if (weighting_ == Weighting::none) return;
        weights_ = device.alloc({cols_, 1});
        device.upload(weights_, w);
        ones_ = device.alloc({1, cols_});
        device.fill(ones_, 1.0f);
        sample_weight_ = device.alloc({rows, 1});
        per_sample_ = device.alloc({rows, 1});
    }

    float forward(const Tensor& pred, const Tensor& target) override {
        const std::size_t n = check(pred, target);
        if (n == 0) return 0.0f;
        plexus::Device& device = *pred.device();
        const Tensor work = log_probs_.rows(0, n);
        device.softmax(pred, work, /*log=*/true);
        device.binary(BinaryOp::mul, work, smoothed_target(target, n), work);
        if (weighting_ != Weighting::none) {
            // Σ_i s_i·(Σ_j t'_ij log p_ij): per-row sums, weighted, then summed.
            const Tensor per_sample = per_sample_.rows(0, n);
            device.reduce(ReduceOp::sum, work, Axis::cols, per_sample);
            device.binary(BinaryOp::mul, per_sample, sample_weights(target, n), per_sample);
            device.reduce(ReduceOp::sum, per_sample, Axis::all, sum_);
        } else {
            device.reduce(ReduceOp::sum, work, Axis::all, sum_);
        }
        return -device.download_scalar(sum_) / static_cast<float>(n);
    }

    // Unweighted (with or without smoothing): the fused key SoftmaxCrossEntropyBackward
    // (plexus/fused.hpp) with the smoothed target and scale 1 / rows. Weighted: primitives
    // only, dpred = s_i·(softmax(pred) - target') / rows.
    void backward(const Tensor& pred, const Tensor& target, const Tensor& dpred) override {
        const std::size_t n = check(pred, target);
        if (n == 0) return;
        plexus::Device& device = *pred.device();
        const float scale = 1.0f / static_cast<float>(n);
        const Tensor effective = smoothed_target(target, n);
        if (weighting_ == Weighting::none &&
            device.try_fused(plexus::fused::SoftmaxCrossEntropyBackward{
                .pred = pred, .target = effective, .dpred = dpred, .scale = scale}))
            return;
        device.softmax(pred, dpred);
        device.binary(BinaryOp::sub, dpred, effective, dpred);
        if (weighting_ == Weighting::none) {
            device.unary(UnaryOp::scale, dpred, dpred, scale);
            return;
        }
        // Row i scaled by s_i / n: the outer product (s / n)·1ᵀ, then an elementwise product
        // (Device::binary broadcasts rows, not columns).
        const Tensor row_scale = log_probs_.rows(0, n);
        device.gemm(Transpose::no, Transpose::no, scale, sample_weights(target, n), ones_, 0.0f,
                    row_scale);
        device.binary(BinaryOp::mul, dpred, row_scale, dpred);
    }

private:
    // The weight of each class, on the host, checked against the number of classes.
    std::vector<float> class_weights() const {
        const std::string classes = std::to_string(cols_) + " classes";
        if (weighting_ == Weighting::list) {
            if (list_.size() != cols_)
                throw plexus::ParamError("softmax_cross_entropy: class_weight has " +
                                         std::to_string(list_.size()) +
                                         " weights but the model has " + classes +
                                         "; give exactly one weight per class");
            return list_;
        }
        if (counts_.empty())
            throw plexus::ParamError(
                "softmax_cross_entropy: class_weight=balanced needs the training split's class "
                "counts (Loss::set_class_counts) before build(); use a list of weights instead");
        if (counts_.size() != cols_)
            throw plexus::ParamError(
                "softmax_cross_entropy: class_weight=balanced got counts for " +
                std::to_string(counts_.size()) + " classes but the model has " + classes);
        double total = 0.0;
        for (std::size_t c : counts_) total += static_cast<double>(c);
        if (total == 0.0)
            throw plexus::ParamError(
                "softmax_cross_entropy: class_weight=balanced got an empty training split");
        // w_c = N / (C·count_c); a class absent from training gets 0 rather than infinity.
        std::vector<float> w(cols_);
        for (std::size_t c = 0; c < cols_; ++c)
            w[c] = counts_[c] ? static_cast<float>(total / (static_cast<double>(cols_) *
                                                            static_cast<double>(counts_[c])))
                              : 0.0f;
        return w;
    }

    // target·(1-ε) + ε/C in a workspace, or target itself when ε = 0.
    Tensor smoothed_target(const Tensor& target, std::size_t n) const {
        if (smoothing_ == 0.0f) return target;
        plexus::Device& device = *target.device();
        const Tensor t = smoothed_.rows(0, n);
        device.unary(UnaryOp::scale, target, t, 1.0f - smoothing_);
        device.unary(UnaryOp::add_scalar, t, t, smoothing_ / static_cast<float>(cols_));
        return t;
    }

    // s_i = Σ_j w_j t_ij over the unsmoothed target: w_{y_i} for one-hot rows.
    Tensor sample_weights(const Tensor& target, std::size_t n) const {
        const Tensor s = sample_weight_.rows(0, n);
        target.device()->gemm(Transpose::no, Transpose::no, 1.0f, target.reshaped({n, cols_}),
                              weights_, 0.0f, s);
        return s;
    }

    std::size_t check(const Tensor& pred, const Tensor& target) const {
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

    float smoothing_;
    Weighting weighting_ = Weighting::none;
    std::vector<float> list_;          // class_weight=w0,w1,...
    std::vector<std::size_t> counts_;  // from set_class_counts, for balanced
    std::size_t cols_ = 0;
    Tensor log_probs_;      // [max rows, classes]; row views serve smaller batches
    Tensor smoothed_;       // [max rows, classes] when label_smoothing > 0
    Tensor weights_;        // [classes, 1] when weighted
    Tensor ones_;           // [1, classes] when weighted
    Tensor sample_weight_;  // [max rows, 1] when weighted
    Tensor per_sample_;     // [max rows, 1] when weighted
    Tensor sum_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<SoftmaxCrossEntropy>(
    "softmax_cross_entropy", "0.2.0",
    "Cross-entropy of softmax(logits), stable; label smoothing and class weights", kParams))
