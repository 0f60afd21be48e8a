// Top-k accuracy: the fraction of rows whose target class is among the k highest scores, the
// ImageNet convention (Russakovsky et al., "ImageNet Large Scale Visual Recognition
// Challenge", 2015) for tasks where several answers are plausible. Ties count in the model's
// favour, as in tf.math.in_top_k (Keras' top_k_categorical_accuracy): a row is correct when
// fewer than k classes score strictly higher than its target class. Streaming: the host keeps
// integer counts, so the result over a set is exact rather than an average of batch ratios.
#include <cstdint>
#include <iostream>
#include <limits>
#include <string>

#include "plexus/plexus.hpp"
#include "plexus/support/class_rows.hpp"
#include "plexus/support/device_counts.hpp"

namespace {

constexpr plexus::ParamSpec kParams[] = {
    {"k", plexus::ParamType::integer, "5", 1, std::numeric_limits<double>::infinity(), nullptr,
     "a row is correct when fewer than k classes score strictly higher than its target class"},
};

class TopKAccuracy final : public plexus::Metric {
public:
    explicit TopKAccuracy(const plexus::Params& params) : k_(params.get_int("k")) {}

    void build(const plexus::Shape& pred, plexus::Device& device) override {
        plexus::support::require_scores(
            "top_k_accuracy", pred, 2,
            "scores [batch, classes] with at least two classes (for one logit column use "
            "accuracy)");
        cols_ = pred.cols();
        // k at or above the class count counts every row as a hit: say so once, rather than
        // report a perfect score that measures nothing.
        if (static_cast<unsigned long long>(k_) >= cols_ && !warned_) {
            std::cerr << "warning: top_k_accuracy k=" << k_ << " on " << cols_
                      << " classes is always 1 (used as k=" << cols_ << "): choose k below "
                      << cols_ << "\n";
            warned_ = true;
        }
        const std::size_t rows = pred.rows();
        rows_.build(device, cols_);
        target_class_ = device.alloc({rows});
        target_score_ = device.alloc({rows});
        above_ = device.alloc({rows});
        work_ = device.alloc({rows, cols_});
        // Counts of higher classes are whole numbers: "≥ k" is "> k - 0.5", safely in float.
        miss_threshold_ = device.alloc({1});
        device.fill(miss_threshold_, static_cast<float>(k_) - 0.5f);
        misses_ = device.alloc({1});
        missed_.build(device, 1);
        seen_ = 0;
    }

    void reset() override {
        missed_.reset();
        seen_ = 0;
    }

    // Allocates nothing and downloads nothing: the batch's misses are summed on the device.
    void update(const plexus::Tensor& pred, const plexus::Tensor& target) override {
        const std::size_t n = plexus::support::check_batch("top_k_accuracy", !misses_.empty(), pred,
                                                           target, above_.rows(), cols_);
        if (n == 0) return;
        plexus::Device& device = *pred.device();
        const plexus::Tensor t = target_class_.rows(0, n), score = target_score_.rows(0, n);
        const plexus::Tensor above = above_.rows(0, n), work = work_.rows(0, n);
        // The target's score per row: the one-hot of its arg-max picks it out of pred (adding
        // zeros keeps it exact, so ties below compare equal values).
        device.reduce(plexus::ReduceOp::argmax, target, plexus::Axis::cols, t);
        rows_.one_hot(device, t, work);
        device.binary(plexus::BinaryOp::mul, work, pred, work);
        device.reduce(plexus::ReduceOp::sum, work, plexus::Axis::cols, score);
        // How many classes score strictly higher; a miss when that is k or more.
        rows_.spread(device, score, work);
        device.binary(plexus::BinaryOp::greater, pred, work, work);
        device.reduce(plexus::ReduceOp::sum, work, plexus::Axis::cols, above);
        device.binary(plexus::BinaryOp::greater, above, miss_threshold_, above);
        device.reduce(plexus::ReduceOp::sum, above, plexus::Axis::all, misses_);
        missed_.add(misses_, n);
        seen_ += n;
    }

    plexus::MetricValues result() const override {
        if (seen_ == 0) return {{"top_k_accuracy", 0.0}};
        const std::uint64_t hits = seen_ - missed_.counts()[0];
        return {{"top_k_accuracy", static_cast<double>(hits) / static_cast<double>(seen_)}};
    }

private:
    long long k_;
    bool warned_ = false;
    std::size_t cols_ = 0;
    plexus::support::ClassRows rows_;
    plexus::Tensor target_class_;             // [max rows]: arg-max of the target
    plexus::Tensor target_score_;             // [max rows]: pred at the target class
    plexus::Tensor above_;                    // [max rows]: classes scoring higher, then miss flags
    plexus::Tensor work_;                     // [max rows, classes]
    plexus::Tensor miss_threshold_, misses_;  // [1]
    plexus::support::DeviceCounts missed_;    // rows missed since reset()
    std::uint64_t seen_ = 0;                  // rows seen since reset()
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<TopKAccuracy>(
    "top_k_accuracy", "0.1.0",
    "Fraction of rows whose target class is among the k highest scores (ties favour the target)",
    kParams))
