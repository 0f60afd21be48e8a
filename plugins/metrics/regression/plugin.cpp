// Regression metrics, one library: mae, mse, rmse, r2 and mape, as scikit-learn defines them
// (sklearn.metrics, multioutput='uniform_average': the mean over target columns of each
// column's value). They stream: every update() reduces the batch to per-column sums on the
// device (ColumnSums), and result() computes each column's value from the totals over the
// whole set, so a short last batch weighs exactly its rows rather than as much as a full one.
// They accept float targets only; the host hands them predictions and targets in the
// target's own units (the target transform inverted), so errors read in those units.
#include <cmath>
#include <limits>
#include <string>

#include "column_sums.hpp"
#include "plexus/plexus.hpp"

namespace {

using plexus::BinaryOp;
using plexus::Device;
using plexus::Tensor;
using plexus::UnaryOp;
using plexus_regression::ColumnSums;

// The per-column sums a metric may need; each is one row of the metric's ColumnSums.
enum Stat : std::size_t {
    kAbsError,      // Σ |p - t|
    kSquaredError,  // Σ (p - t)²
    kRelError,      // Σ |p - t| / max(|t|, eps)
    kTarget,        // Σ (t - s), s: the first target row after reset() (see update())
    kTargetSquare,  // Σ (t - s)²
    kStatCount
};

struct Definition {
    const char* name;
    bool needs[kStatCount];
    // The metric of one column from the totals of the statistics it needs over n > 0 rows.
    double (*column)(const double* totals, double n);
};

double mean_absolute(const double* s, double n) {
    return s[kAbsError] / n;
}
double mean_squared(const double* s, double n) {
    return s[kSquaredError] / n;
}
double root_mean_squared(const double* s, double n) {
    return std::sqrt(s[kSquaredError] / n);
}
double mean_relative(const double* s, double n) {
    return s[kRelError] / n;
}

// R² = 1 - SS_res / SS_tot (coefficient of determination), SS_tot = Σ (t - mean t)². The
// shifted sums give SS_tot = Σ(t-s)² - (Σ(t-s))² / n without the cancellation of Σt² -
// (Σt)²/n when the mean is large against the spread (CO2 near 400 ppm varying by a few). A
// constant column (SS_tot = 0: every t - s is exactly 0) scores 1 when predicted exactly and
// 0 otherwise, as scikit-learn's r2_score (force_finite=True, its default since 1.1).
double determination(const double* s, double n) {
    const double ss_tot = s[kTargetSquare] - s[kTarget] * s[kTarget] / n;
    if (ss_tot > 0.0) return 1.0 - s[kSquaredError] / ss_tot;
    return s[kSquaredError] == 0.0 ? 1.0 : 0.0;
}

constexpr Definition kMae{"mae", {true, false, false, false, false}, mean_absolute};
constexpr Definition kMse{"mse", {false, true, false, false, false}, mean_squared};
constexpr Definition kRmse{"rmse", {false, true, false, false, false}, root_mean_squared};
constexpr Definition kR2{"r2", {false, true, false, true, true}, determination};
constexpr Definition kMape{"mape", {false, false, true, false, false}, mean_relative};

class RegressionMetric : public plexus::Metric {
public:
    void build(const plexus::Shape& pred, Device& device) override {
        if (pred.rank() < 1 || pred.numel() == 0)
            throw plexus::ShapeError(std::string(def_.name) +
                                     ": expected predictions [batch, outputs...], got " +
                                     pred.str());
        cols_ = pred.cols();
        const std::size_t rows = pred.rows();
        diff_ = device.alloc({rows, cols_});
        work_ = device.alloc({rows, cols_});
        batch_ = device.alloc({kStatCount, cols_});
        // Rows of statistics the metric does not need stay zero and cost nothing per batch.
        device.fill(batch_, 0.0f);
        shift_ = device.alloc({cols_});
        // scikit-learn floors |t| at float64's machine epsilon, a normal float32 number.
        epsilon_ = device.alloc({1});
        device.fill(epsilon_, static_cast<float>(std::numeric_limits<double>::epsilon()));
        sums_.build(device, kStatCount, cols_);
        shifted_ = false;
    }

    void reset() override {
        sums_.reset();
        shifted_ = false;
    }

    void update(const Tensor& pred, const Tensor& target) override {
        if (diff_.empty())
            throw plexus::ShapeError(std::string(def_.name) + ": update() before build()");
        const std::size_t n = pred.rows();
        if (pred.cols() != cols_ || n > diff_.rows() || target.numel() != pred.numel())
            throw plexus::ShapeError(std::string(def_.name) + ": built for up to " +
                                     std::to_string(diff_.rows()) + " rows of " +
                                     std::to_string(cols_) + " values, got pred " +
                                     pred.shape().str() + " and target " + target.shape().str());
        if (n == 0) return;
        Device& device = *pred.device();
        const Tensor t = target.reshaped({n, cols_});
        const Tensor r = diff_.rows(0, n), w = work_.rows(0, n);
        device.binary(BinaryOp::sub, pred.reshaped({n, cols_}), t, r);
        if (def_.needs[kSquaredError]) {
            device.unary(UnaryOp::square, r, w);
            column_sums(device, w, kSquaredError);
        }
        if (def_.needs[kAbsError] || def_.needs[kRelError]) device.unary(UnaryOp::abs, r, r);
        if (def_.needs[kAbsError]) column_sums(device, r, kAbsError);
        if (def_.needs[kRelError]) {
            device.unary(UnaryOp::abs, t, w);
            device.binary(BinaryOp::max, w, epsilon_, w);
            device.binary(BinaryOp::div, r, w, w);
            column_sums(device, w, kRelError);
        }
        if (def_.needs[kTarget]) {
            // Any value inside the data serves as the shift; the first row is one, and it
            // makes a constant column's t - s exactly 0.
            if (!shifted_) device.copy(t.rows(0, 1), shift_);
            shifted_ = true;
            device.binary(BinaryOp::sub, t, shift_, w);
            column_sums(device, w, kTarget);
            device.unary(UnaryOp::square, w, w);
            column_sums(device, w, kTargetSquare);
        }
        sums_.add(batch_, n);
    }

    plexus::MetricValues result() const override {
        const double n = static_cast<double>(sums_.rows());
        if (n == 0) return {{def_.name, 0.0}};
        double sum = 0.0;
        double totals[kStatCount] = {};
        for (std::size_t c = 0; c < cols_; ++c) {
            for (std::size_t s = 0; s < kStatCount; ++s)
                totals[s] = def_.needs[s] ? sums_.total(s, c) : 0.0;
            sum += def_.column(totals, n);
        }
        return {{def_.name, sum / static_cast<double>(cols_)}};
    }

    bool accepts(plexus::TargetKind kind) const override {
        return kind == plexus::TargetKind::values;
    }

protected:
    explicit RegressionMetric(const Definition& def) : def_(def) {}

private:
    void column_sums(Device& device, const Tensor& x, Stat stat) const {
        device.reduce(plexus::ReduceOp::sum, x, plexus::Axis::rows, batch_.rows(stat, 1));
    }

    const Definition& def_;
    std::size_t cols_ = 0;
    Tensor diff_, work_;  // [max rows, cols]; row views serve smaller batches
    Tensor batch_;        // [kStatCount, cols]: this batch's column sums
    Tensor shift_;        // [cols]
    Tensor epsilon_;      // [1]
    ColumnSums sums_;
    bool shifted_ = false;  // shift_ holds this stream's first target row
};

// Mean absolute error, in the target's units.
class MeanAbsoluteError final : public RegressionMetric {
public:
    explicit MeanAbsoluteError(const plexus::Params&) : RegressionMetric(kMae) {}
};

// Mean squared error, in squared target units.
class MeanSquaredError final : public RegressionMetric {
public:
    explicit MeanSquaredError(const plexus::Params&) : RegressionMetric(kMse) {}
};

// Root mean squared error per column, then averaged over columns (scikit-learn's
// mean_squared_error(squared=False)): with several columns not the root of mse.
class RootMeanSquaredError final : public RegressionMetric {
public:
    explicit RootMeanSquaredError(const plexus::Params&) : RegressionMetric(kRmse) {}
};

// Coefficient of determination: the fraction of the target's variance the model explains;
// 1 is perfect, 0 is what predicting the mean achieves, and it is unbounded below.
class Determination final : public RegressionMetric {
public:
    explicit Determination(const plexus::Params&) : RegressionMetric(kR2) {}
};

// Mean absolute percentage error as a fraction (0.05 is 5 %), scikit-learn's
// mean_absolute_percentage_error: |p - t| / max(|t|, eps). Near-zero targets blow it up, so
// it suits targets far from 0 (prices, demand, CO2) and misleads on centred ones.
class MeanAbsolutePercentageError final : public RegressionMetric {
public:
    explicit MeanAbsolutePercentageError(const plexus::Params&) : RegressionMetric(kMape) {}
};

}  // namespace

PLEXUS_PLUGIN(
    plexus::component<MeanAbsoluteError>(
        "mae", "0.1.0", "Mean absolute error in target units, streamed over the whole set"),
    plexus::component<MeanSquaredError>(
        "mse", "0.1.0", "Mean squared error in squared target units, streamed over the whole set"),
    plexus::component<RootMeanSquaredError>(
        "rmse", "0.1.0", "Root mean squared error in target units (per column, then averaged)"),
    plexus::component<Determination>(
        "r2", "0.1.0",
        "Coefficient of determination R² (1 - SS_res/SS_tot), averaged over columns"),
    plexus::component<MeanAbsolutePercentageError>(
        "mape", "0.1.0", "Mean absolute percentage error as a fraction (|p - t| / max(|t|, eps))"))
