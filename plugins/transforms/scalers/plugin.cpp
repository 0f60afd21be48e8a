// Feature scalers fitted on the training split, one library: scale (min-max, scikit-learn's
// MinMaxScaler) and standardize (z-score, scikit-learn's StandardScaler). Gradient descent
// converges faster and weight decay treats weights evenly when inputs share one scale
// (LeCun, Bottou, Orr & Müller, 1998, "Efficient BackProp", §4.3).
//
// Statistics come from the training samples only, so validation and test data are scaled by
// the same fitted values and nothing leaks from them; the values are saved with the model.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "scaler.hpp"

namespace {

using plexus::DataError;
using plexus::Params;
using plexus::ParamSpec;
using plexus::ParamType;
using plexus::support::parse_range;
using plexus::support::range_param;
using plexus::transforms::parse_per;
using plexus::transforms::per_param;

constexpr double kInf = std::numeric_limits<double>::infinity();

constexpr ParamSpec kScaleParams[] = {
    range_param("Target interval 'low,high' for the fitted min..max, e.g. 0,1 or -1,1"),
    per_param(),
    {"divide", ParamType::real, "0", 0, kInf, nullptr,
     "When > 0: a fixed x/divide with no fitting (divide=255 for 8-bit pixels); range and per "
     "are then unused"},
};

constexpr ParamSpec kStandardizeParams[] = {per_param()};

std::string slot_name(std::size_t slots, std::size_t slot) {
    return slots == 1 ? std::string("the global statistic") : "feature " + std::to_string(slot);
}

// Min-max scaling: y = (x − min)·(high − low)/(max − min) + low, with min and max taken over
// the training split, so training values land in [low, high] and others scale the same way.
class Scale final : public plexus::transforms::Scaler {
public:
    explicit Scale(const Params& params)
        : Scaler("scale", parse_per(params), {"data_min", "data_max"}),
          range_(parse_range(params.get_string("range"), "scale")),
          divide_(static_cast<float>(params.get_real("divide"))) {}

    bool needs_fit() const override { return divide_ == 0.0f; }

    void fit_batch(const float* samples, std::size_t rows) override {
        float* lo = low_.data();
        float* hi = high_.data();
        // NaN compares false and so never becomes a minimum or maximum.
        each_value(samples, rows, [lo, hi](std::size_t s, float v) {
            if (v < lo[s]) lo[s] = v;
            if (v > hi[s]) hi[s] = v;
        });
    }

    void apply(const float* in, float* out, std::size_t rows, plexus::Mode mode,
               const plexus::ApplyContext& context) const override {
        if (divide_ == 0.0f) return Scaler::apply(in, out, rows, mode, context);
        for (std::size_t i = 0, n = rows * features(); i < n; ++i) out[i] = in[i] / divide_;
    }

    std::vector<plexus::TransformState> state() const override {
        return divide_ == 0.0f ? Scaler::state() : std::vector<plexus::TransformState>{};
    }

    void load_state(const std::vector<plexus::TransformState>& state) override {
        if (divide_ == 0.0f) return Scaler::load_state(state);
        if (!state.empty())
            throw DataError(
                "scale: with divide > 0 nothing is fitted, but the model holds "
                "fitted values for this transform");
    }

private:
    void start_fit() override {
        low_.assign(slots(), std::numeric_limits<float>::infinity());
        high_.assign(slots(), -std::numeric_limits<float>::infinity());
    }
    void finish_fit() override {
        stats_[0] = low_;
        stats_[1] = high_;
    }
    bool set_slot(std::size_t s, float& centre, float& mul, float& add) const override {
        const float lo = stats_[0][s], hi = stats_[1][s];
        if (!std::isfinite(lo) || !std::isfinite(hi) || hi < lo)
            throw DataError("scale: " + slot_name(slots(), s) + " has min " + std::to_string(lo) +
                            " and max " + std::to_string(hi) +
                            "; the data must be finite (check for inf or NaN values)");
        if (hi == lo) return false;
        const double m = (double(range_.high) - range_.low) / (double(hi) - lo);
        if (!std::isfinite(static_cast<float>(m))) return false;
        centre = lo;
        mul = static_cast<float>(m);
        add = range_.low;
        return true;
    }
    const char* degenerate_reason() const override { return "max == min"; }

    plexus::support::ValueRange range_;
    float divide_;
    std::vector<float> low_, high_;  // running min and max per slot while fitting
};

// Standardization: y = (x − mean)/std with the population std (ddof = 0) of the training
// split, so each feature has mean 0 and variance 1 there.
//
// Sums are taken in double about a shift (the first value of each slot), which keeps the
// one-pass variance Σd²/n − (Σd/n)² accurate when the mean is large against the spread.
class Standardize final : public plexus::transforms::Scaler {
public:
    explicit Standardize(const Params& params)
        : Scaler("standardize", parse_per(params), {"mean", "std"}) {}

    void fit_batch(const float* samples, std::size_t rows) override {
        if (rows == 0) return;
        if (count_per_slot() == 0)
            for (std::size_t s = 0; s < slots(); ++s) shift_[s] = samples[s];
        double* s1 = sum_.data();
        double* s2 = sum_sq_.data();
        const double* shift = shift_.data();
        each_value(samples, rows, [=](std::size_t s, float v) {
            const double d = double(v) - shift[s];
            s1[s] += d;
            s2[s] += d * d;
        });
    }

private:
    void start_fit() override {
        shift_.assign(slots(), 0.0);
        sum_.assign(slots(), 0.0);
        sum_sq_.assign(slots(), 0.0);
    }
    void finish_fit() override {
        const double n = static_cast<double>(count_per_slot());
        for (std::size_t s = 0; s < slots(); ++s) {
            const double mean_d = sum_[s] / n;
            const double var = sum_sq_[s] / n - mean_d * mean_d;
            stats_[0][s] = static_cast<float>(shift_[s] + mean_d);
            stats_[1][s] = static_cast<float>(var > 0 ? std::sqrt(var) : 0.0);
        }
    }
    bool set_slot(std::size_t s, float& centre, float& mul, float&) const override {
        const float mean = stats_[0][s], sd = stats_[1][s];
        if (!std::isfinite(mean) || !std::isfinite(sd) || sd < 0)
            throw DataError("standardize: " + slot_name(slots(), s) + " has mean " +
                            std::to_string(mean) + " and std " + std::to_string(sd) +
                            "; the data must be finite (check for inf or NaN values)");
        if (sd == 0.0f) return false;
        const float inv = static_cast<float>(1.0 / double(sd));
        if (!std::isfinite(inv)) return false;
        centre = mean;
        mul = inv;
        return true;
    }
    const char* degenerate_reason() const override { return "variance 0"; }

    std::vector<double> shift_, sum_, sum_sq_;  // per slot, while fitting
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Scale>("scale", "0.1.0",
                                       "Min-max scaling to a range fitted on the training split "
                                       "(scikit-learn MinMaxScaler), or a fixed x/divide",
                                       kScaleParams),
              plexus::component<Standardize>("standardize", "0.1.0",
                                             "Z-score standardization fitted on the training split "
                                             "(scikit-learn StandardScaler)",
                                             kStandardizeParams))
