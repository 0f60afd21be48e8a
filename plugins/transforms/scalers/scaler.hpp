// What scale and standardize share: two fitted statistics per feature (or one pair over all
// values), applied as y = (x − centre)·mul + add with the arrays precomputed for every value
// position, the warning for features that cannot be scaled, and saving/loading the statistics.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "plexus/params.hpp"
#include "plexus/support/value_range.hpp"
#include "plexus/transform.hpp"

namespace plexus::transforms {

/// The `per` parameter of the scalers.
constexpr ParamSpec per_param() {
    return {"per",
            ParamType::choice,
            "feature",
            0,
            0,
            "feature|global",
            "feature: one statistic per value position (like scikit-learn); global: one over "
            "all values"};
}

enum class Per { feature, global };

inline Per parse_per(const Params& params) {
    return params.get_string("per") == "global" ? Per::global : Per::feature;
}

class Scaler : public Transform {
public:
    /// `who` names the component in errors; `names` are its two saved statistics.
    Scaler(const char* who, Per per, std::array<const char*, 2> names)
        : who_(who), per_(per), names_(names) {}

    Shape build(const Shape& sample) override {
        if (sample.numel() != features_)
            fitted_ = false;  // a rebuild for the same size keeps the fit
        features_ = sample.numel();
        slots_ = per_ == Per::global ? 1 : features_;
        sample_ = sample;
        if (!fitted_)
            for (auto& s : stats_) s.assign(slots_, 0.0f);
        centre_.assign(features_, 0.0f);
        mul_.assign(features_, 1.0f);
        add_.assign(features_, 0.0f);
        if (fitted_) prepare();
        return sample;
    }

    bool needs_fit() const override { return true; }

    void fit_begin() override {
        require_built("fit_begin()");
        fitted_ = false;
        rows_ = 0;
        start_fit();
    }

    std::vector<std::string> fit_end() override {
        require_built("fit_end()");
        if (rows_ == 0) throw DataError(std::string(who_) + ": no training samples to fit on");
        finish_fit();
        fitted_ = true;
        return prepare();
    }

    void apply(const float* in, float* out, std::size_t rows, Mode,
               const ApplyContext&) const override {
        if (!fitted_) throw Error(std::string(who_) + ": apply() before fitting or load_state()");
        const float* centre = centre_.data();
        const float* mul = mul_.data();
        const float* add = add_.data();
        for (std::size_t r = 0; r < rows; ++r) {
            const float* x = in + r * features_;
            float* y = out + r * features_;
            for (std::size_t f = 0; f < features_; ++f) y[f] = (x[f] - centre[f]) * mul[f] + add[f];
        }
    }

    std::vector<TransformState> state() const override {
        if (!fitted_) return {};
        const Shape shape{slots_};
        return {{names_[0], shape, stats_[0]}, {names_[1], shape, stats_[1]}};
    }

    void load_state(const std::vector<TransformState>& state) override {
        require_built("load_state()");
        const std::string expected = std::string("'") + names_[0] + "' and '" + names_[1] + "'";
        if (state.size() != 2)
            throw DataError(std::string(who_) + ": the saved state has " +
                            std::to_string(state.size()) + " arrays, expected " + expected);
        std::array<const TransformState*, 2> found{};
        for (std::size_t i = 0; i < 2; ++i) {
            for (const auto& s : state)
                if (s.name == names_[i]) found[i] = &s;
            if (!found[i])
                throw DataError(std::string(who_) + ": the saved state lacks '" + names_[i] +
                                "' (expected " + expected + ")");
            if (found[i]->values.size() != slots_ || found[i]->shape.numel() != slots_)
                throw DataError(std::string(who_) + ": saved '" + names_[i] + "' has shape " +
                                found[i]->shape.str() + " and " +
                                std::to_string(found[i]->values.size()) +
                                " values; this transform needs " + std::to_string(slots_) + " (" +
                                (per_ == Per::global ? "per=global" : "per=feature") +
                                " for samples " + sample_.str() + ")");
        }
        fitted_ = false;
        for (std::size_t i = 0; i < 2; ++i) stats_[i] = found[i]->values;
        prepare();
        fitted_ = true;
    }

protected:
    /// Per-fit accumulators: reset in start_fit(), fed by fit_batch(), turned into stats_[0]
    /// and stats_[1] by finish_fit().
    virtual void start_fit() = 0;
    virtual void finish_fit() = 0;
    /// Fills the apply arrays for one statistics slot from stats_; returns false when the
    /// slot cannot be scaled (it is then left unchanged). Throws DataError for invalid values.
    virtual bool set_slot(std::size_t slot, float& centre, float& mul, float& add) const = 0;
    /// Why a slot cannot be scaled, for the warning ("max == min").
    virtual const char* degenerate_reason() const = 0;

    /// Calls fn(slot, value) for every value of `rows` samples, counting the rows.
    template <class Fn>
    void each_value(const float* samples, std::size_t rows, Fn&& fn) {
        require_built("fit_batch()");
        if (slots_ == 1) {
            for (std::size_t i = 0, n = rows * features_; i < n; ++i)
                fn(std::size_t{0}, samples[i]);
        } else {
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t f = 0; f < features_; ++f) fn(f, samples[r * features_ + f]);
        }
        rows_ += rows;
    }

    /// Values seen per slot so far.
    std::size_t count_per_slot() const { return slots_ == 1 ? rows_ * features_ : rows_; }
    std::size_t slots() const { return slots_; }
    std::size_t features() const { return features_; }
    const char* who() const { return who_; }

    std::array<std::vector<float>, 2> stats_;

private:
    void require_built(const char* what) const {
        if (features_ == 0) throw Error(std::string(who_) + ": " + what + " before build()");
    }

    // Fills centre_/mul_/add_ from stats_ and returns the warning about unscalable slots.
    std::vector<std::string> prepare() {
        std::vector<std::size_t> skipped;
        for (std::size_t s = 0; s < slots_; ++s) {
            float centre = 0.0f, mul = 1.0f, add = 0.0f;
            if (!set_slot(s, centre, mul, add)) {
                skipped.push_back(s);
                centre = 0.0f, mul = 1.0f, add = 0.0f;
            }
            const std::size_t begin = slots_ == 1 ? 0 : s, end = slots_ == 1 ? features_ : s + 1;
            std::fill(centre_.begin() + begin, centre_.begin() + end, centre);
            std::fill(mul_.begin() + begin, mul_.begin() + end, mul);
            std::fill(add_.begin() + begin, add_.begin() + end, add);
        }
        if (skipped.empty()) return {};
        if (slots_ == 1)
            return {std::string("all training values are equal (") + degenerate_reason() +
                    "); the values are left unchanged"};
        std::string list;
        for (std::size_t i = 0; i < skipped.size() && i < 5; ++i)
            list += (i ? ", " : "") + std::to_string(skipped[i]);
        if (skipped.size() > 5) list += ", ...";
        return {std::to_string(skipped.size()) + " of " + std::to_string(slots_) +
                " features are constant on the training split (" + degenerate_reason() +
                ") and are left unchanged: feature " + list};
    }

    const char* who_;
    Per per_;
    std::array<const char*, 2> names_;
    Shape sample_;
    std::size_t features_ = 0;  // values per sample
    std::size_t slots_ = 0;     // statistics per array: features_, or 1 for per=global
    std::size_t rows_ = 0;      // samples seen by the current fit
    bool fitted_ = false;
    std::vector<float> centre_, mul_, add_;  // [features_]: y = (x - centre)·mul + add
};

}  // namespace plexus::transforms
