// The streaming core every classification metric of this library shares: a k×k confusion
// matrix (rows true classes, columns predicted classes) accumulated over a whole evaluation
// set. Each update computes the batch's matrix on the device and adds it to the device's
// sums; reading a count brings the k² sums over once (plexus/support/device_counts.hpp) into exact
// integer totals, so every rate derived from them is the rate over the set, never an
// average of per-batch rates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "plexus/device.hpp"
#include "plexus/metric.hpp"
#include "plexus/support/class_rows.hpp"
#include "plexus/support/device_counts.hpp"

namespace plexus::metrics {

/// One class against all the others.
struct OneVsRest {
    std::uint64_t tp = 0, fp = 0, fn = 0, tn = 0;

    std::uint64_t support() const { return tp + fn; }  // rows whose true class it is
    bool present() const { return tp + fp + fn > 0; }  // a true or a predicted class
    OneVsRest& operator+=(const OneVsRest& o) {
        tp += o.tp;
        fp += o.fp;
        fn += o.fn;
        tn += o.tn;
        return *this;
    }
};

class ConfusionCounts {
public:
    /// Allocates every workspace for batches of up to pred.rows() rows. Scores are
    /// [batch, classes], or [batch, 1] logits for two classes (class 1 when the logit is > 0,
    /// i.e. sigmoid > 0.5; the 0/1 target counts as class 1 when > 0.5). `metric` names the
    /// component in errors and must outlive this object.
    void build(const char* metric, const Shape& pred, Device& device) {
        support::require_scores(metric, pred, 1,
                                "scores [batch, classes] (or [batch, 1] logits for two classes)");
        metric_ = metric;
        cols_ = pred.cols();
        classes_ = cols_ == 1 ? 2 : cols_;
        const std::size_t rows = pred.rows();
        rows_.build(device, classes_);
        logit_threshold_ = device.alloc({1});
        device.fill(logit_threshold_, 0.0f);
        target_threshold_ = device.alloc({1});
        device.fill(target_threshold_, 0.5f);
        pred_class_ = device.alloc({rows});
        target_class_ = device.alloc({rows});
        pred_hot_ = device.alloc({rows, classes_});
        target_hot_ = device.alloc({rows, classes_});
        batch_counts_ = device.alloc({classes_, classes_});
        counts_.build(device, classes_ * classes_);
        total_ = 0;
    }

    void reset() {
        counts_.reset();
        total_ = 0;
    }

    /// Adds one batch. Allocates nothing and downloads nothing.
    void update(const Tensor& pred, const Tensor& target) {
        const std::size_t n =
            support::check_batch(metric_ ? metric_ : "metric", !batch_counts_.empty(), pred, target,
                                 pred_class_.rows(), cols_);
        if (n == 0) return;
        Device& device = *pred.device();
        const Tensor p = pred_class_.rows(0, n), t = target_class_.rows(0, n);
        if (cols_ == 1) {
            device.binary(BinaryOp::greater, pred.reshaped({n}), logit_threshold_, p);
            device.binary(BinaryOp::greater, target.reshaped({n}), target_threshold_, t);
        } else {
            device.reduce(ReduceOp::argmax, pred, Axis::cols, p);
            device.reduce(ReduceOp::argmax, target, Axis::cols, t);
        }
        const Tensor p_hot = pred_hot_.rows(0, n), t_hot = target_hot_.rows(0, n);
        rows_.one_hot(device, p, p_hot);
        rows_.one_hot(device, t, t_hot);
        // counts[i, j] = Σ_r t_hot[r, i] · p_hot[r, j]: rows true, columns predicted. Sums of
        // 0/1 products are exact in float up to 2^24 rows, far above any batch.
        device.gemm(Transpose::yes, Transpose::no, 1.0f, t_hot, p_hot, 0.0f, batch_counts_);
        counts_.add(batch_counts_, n);
        total_ += n;
    }

    /// Number of classes k (2 for one logit column); 0 before build().
    std::size_t classes() const { return classes_; }
    /// Rows seen since reset().
    std::uint64_t total() const { return total_; }
    /// Rows of true class `true_class` predicted as `predicted`.
    std::uint64_t count(std::size_t true_class, std::size_t predicted) const {
        return counts_.counts()[true_class * classes_ + predicted];
    }

    /// Class `c` against the rest: tp = C[c,c], fn = rest of row c, fp = rest of column c.
    OneVsRest one_vs_rest(std::size_t c) const {
        OneVsRest r;
        r.tp = count(c, c);
        for (std::size_t j = 0; j < classes_; ++j) {
            if (j == c) continue;
            r.fn += count(c, j);
            r.fp += count(j, c);
        }
        r.tn = total_ - r.tp - r.fn - r.fp;
        return r;
    }

    /// "0", "1", ..., "k-1": the host substitutes class names when it prints tables.
    std::vector<std::string> labels() const {
        std::vector<std::string> out;
        for (std::size_t c = 0; c < classes_; ++c) out.push_back(std::to_string(c));
        return out;
    }

    /// An empty table with one row per class, to be filled row after row.
    MetricTable table(std::string name, std::string row_title, std::string column_title,
                      std::vector<std::string> column_labels) const {
        MetricTable t;
        t.name = std::move(name);
        t.row_title = std::move(row_title);
        t.column_title = std::move(column_title);
        t.row_labels = labels();
        t.column_labels = std::move(column_labels);
        return t;
    }

private:
    const char* metric_ = nullptr;
    std::size_t cols_ = 0, classes_ = 0;
    support::ClassRows rows_;
    Tensor logit_threshold_, target_threshold_;  // [1]: 0 and 0.5, for one-column scores
    Tensor pred_class_, target_class_;           // [max rows]: class index per row
    Tensor pred_hot_, target_hot_;               // [max rows, k]: one-hot rows
    Tensor batch_counts_;                        // [k, k]
    support::DeviceCounts counts_;               // k², row-major, since reset()
    std::uint64_t total_ = 0;
};

}  // namespace plexus::metrics
