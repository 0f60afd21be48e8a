// Median stopping rule (Golovin et al., "Google Vizier", 2017; the rules are Optuna 3.1's
// MedianPruner): a trial stops when its best value so far is worse than the median of what
// the completed trials had at the same epoch. Cheap and robust, and a good default when
// learning curves of different trials rarely cross.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/support/pruning.hpp"

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

const plexus::ParamSpec kParams[] = {
    {"n_startup_trials", plexus::ParamType::integer, "5", 0, kInf, nullptr,
     "no pruning until this many trials have completed"},
    {"n_warmup_steps", plexus::ParamType::integer, "0", 0, kInf, nullptr,
     "the first this many epochs of a trial are never pruned"},
    {"interval_steps", plexus::ParamType::integer, "1", 1, kInf, nullptr,
     "check every this many epochs after the warm-up"},
    {"n_min_trials", plexus::ParamType::integer, "1", 1, kInf, nullptr,
     "completed trials with a value at the epoch needed to decide"},
};

// The median with linear interpolation between the two middle values; NaNs are left out
// (numpy.nanpercentile(values, 50), as Optuna).
std::optional<double> nan_median(std::vector<double> values) {
    std::erase_if(values, [](double v) { return std::isnan(v); });
    if (values.empty()) return std::nullopt;
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    if (n % 2 == 1) return values[n / 2];
    const double low = values[n / 2 - 1], high = values[n / 2];
    if (std::isinf(low) || std::isinf(high)) return low == high ? low : (low + high) / 2;
    return low + (high - low) / 2;
}

class Median final : public plexus::Pruner {
public:
    explicit Median(const plexus::Params& p)
        : n_startup_trials_(count(p, "n_startup_trials")),
          n_warmup_steps_(count(p, "n_warmup_steps")),
          interval_steps_(count(p, "interval_steps")),
          n_min_trials_(count(p, "n_min_trials")) {}

    bool should_prune(const plexus::PruneContext& context,
                      const std::vector<plexus::TrialView>& history) override {
        if (plexus::support::at_last_step(context) || context.step == 0) return false;
        std::vector<const plexus::TrialView*> completed;
        for (const auto& trial : history)
            if (trial.state == plexus::TrialState::complete && trial.number != context.trial_number)
                completed.push_back(&trial);
        if (completed.empty() || completed.size() < n_startup_trials_) return false;
        const std::uint64_t step = context.step - 1;  // Optuna counts steps from 0
        if (step < n_warmup_steps_) return false;
        const auto curve = plexus::support::reported_curve(context, history);
        if (!first_report_in_interval(step, curve)) return false;

        double best = std::numeric_limits<double>::quiet_NaN();
        for (const auto& point : curve) best = std::fmin(best, point.second);  // skips NaN
        if (std::isnan(best)) return true;  // nothing but NaN: diverged

        std::vector<double> at_step;
        for (const auto* trial : completed)
            for (const auto& point : trial->intermediate)
                if (point.first == context.step) at_step.push_back(point.second);
        if (at_step.size() < n_min_trials_) return false;
        const auto median = nan_median(std::move(at_step));
        return median && best > *median;
    }

private:
    static std::uint64_t count(const plexus::Params& p, const char* name) {
        return static_cast<std::uint64_t>(p.get_int(name));
    }

    // Checks happen at warm-up + k·interval (0-based); a trial that skipped that epoch is
    // checked at its first report after it instead.
    bool first_report_in_interval(std::uint64_t step, const plexus::support::Curve& curve) const {
        const std::uint64_t check =
            (step - n_warmup_steps_) / interval_steps_ * interval_steps_ + n_warmup_steps_;
        for (std::size_t i = 0; i + 1 < curve.size(); ++i)
            if (curve[i].first >= 1 && curve[i].first - 1 >= check) return false;
        return true;
    }

    std::uint64_t n_startup_trials_;
    std::uint64_t n_warmup_steps_;
    std::uint64_t interval_steps_;
    std::uint64_t n_min_trials_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Median>(
    "median", "0.1.0",
    "Prune a trial whose best value is worse than the completed trials' median at its epoch",
    kParams))
