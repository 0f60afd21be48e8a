// Classification accuracy: the fraction of rows whose arg-max prediction is the arg-max of
// the one-hot target. Streaming: integer counts are kept across batches, so the result over
// a set is exact rather than an average of per-batch ratios. The count of matches stays on
// the device until result() reads it (plexus/support/device_counts.hpp). With a single output
// column (binary classification from one logit) a row is predicted positive when its logit is > 0,
// i.e. sigmoid > 0.5, and compared with the 0/1 target, as Keras' binary_accuracy does.
#include <cstdint>
#include <string>

#include "plexus/plexus.hpp"
#include "plexus/support/device_counts.hpp"

namespace {

class Accuracy final : public plexus::Metric {
public:
    explicit Accuracy(const plexus::Params&) {}

    void build(const plexus::Shape& pred, plexus::Device& device) override {
        if (pred.rank() < 2)
            throw plexus::ShapeError("accuracy: expected scores [batch, classes] (or [batch, 1] "
                                     "logits for two classes), got " +
                                     pred.str());
        cols_ = pred.cols();
        zero_ = device.alloc({1});
        device.fill(zero_, 0.0f);
        pred_class_ = device.alloc({pred.rows()});
        target_class_ = device.alloc({pred.rows()});
        correct_count_ = device.alloc({1});
        correct_.build(device, 1);
        total_ = 0;
    }

    void reset() override {
        correct_.reset();
        total_ = 0;
    }

    void update(const plexus::Tensor& pred, const plexus::Tensor& target) override {
        if (pred_class_.empty()) throw plexus::ShapeError("accuracy: update() before build()");
        const std::size_t n = pred.rows();
        if (pred.cols() != cols_ || n > pred_class_.rows() || target.numel() != pred.numel())
            throw plexus::ShapeError("accuracy: built for up to " +
                                     std::to_string(pred_class_.rows()) + " rows of " +
                                     std::to_string(cols_) + " classes, got pred " +
                                     pred.shape().str() + " and target " + target.shape().str());
        if (n == 0) return;
        plexus::Device& device = *pred.device();
        const plexus::Tensor p = pred_class_.rows(0, n);
        const plexus::Tensor t = target_class_.rows(0, n);
        if (cols_ == 1) {
            device.binary(plexus::BinaryOp::greater, pred.reshaped({n}), zero_, p);
            device.copy(target, t);
        } else {
            device.reduce(plexus::ReduceOp::argmax, pred, plexus::Axis::cols, p);
            device.reduce(plexus::ReduceOp::argmax, target, plexus::Axis::cols, t);
        }
        device.binary(plexus::BinaryOp::equal, p, t, p);
        device.reduce(plexus::ReduceOp::sum, p, plexus::Axis::all, correct_count_);
        // A float sum of 0/1 flags is exact up to 2^24 rows, far above any batch.
        correct_.add(correct_count_, n);
        total_ += n;
    }

    plexus::MetricValues result() const override {
        const double accuracy =
            total_ ? static_cast<double>(correct_.counts()[0]) / static_cast<double>(total_) : 0.0;
        return {{"accuracy", accuracy}};
    }

private:
    std::size_t cols_ = 0;
    plexus::Tensor pred_class_;    // [max rows]: arg-max index per row, then the match flags
    plexus::Tensor target_class_;  // [max rows]
    plexus::Tensor correct_count_;
    plexus::Tensor zero_;  // the logit threshold for one-column predictions
    plexus::support::DeviceCounts correct_;  // rows whose prediction matched
    std::uint64_t total_ = 0;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Accuracy>("accuracy", "0.1.0",
                                          "Fraction of rows whose arg-max (or logit > 0 for one column) matches the target"))
