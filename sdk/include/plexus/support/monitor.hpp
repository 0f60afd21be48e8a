// Watching one logged value, for callbacks that act when it stops improving (early_stopping,
// reduce_lr_on_plateau, model_checkpoint): the `monitor` and `mode` parameters, which
// direction is better, what counts as an improvement, and a clear error when the value is
// not logged.
#pragma once

#include <string>

#include "plexus/callback.hpp"
#include "plexus/export.hpp"
#include "plexus/params.hpp"

namespace plexus::support {

/// The `monitor` parameter: which logged value to watch.
constexpr ParamSpec monitor_param(const char* default_value = "val_loss") {
    return {"monitor",
            ParamType::string,
            default_value,
            0,
            0,
            nullptr,
            "logged value to watch: loss, accuracy, val_loss, val_accuracy, ..."};
}

/// The `mode` parameter: whether lower or higher values of the monitored value are better.
constexpr ParamSpec mode_param() {
    return {"mode",
            ParamType::choice,
            "auto",
            0,
            0,
            "auto|min|max",
            "auto: max for names containing acc, precision, recall, sensitivity, specificity, f1, "
            "fbeta or auc, else min"};
}

enum class Direction { min, max };

/// True for names of values where higher is better (accuracies, precision, recall,
/// sensitivity, specificity, F-scores, AUC); losses and errors are minimised.
PLEXUS_API bool higher_is_better(const std::string& monitor);

/// The direction a `mode` parameter value ("auto", "min" or "max") selects for `monitor`.
PLEXUS_API Direction resolve_direction(const std::string& mode, const std::string& monitor);

/// One monitored value: reads it from the logs and says whether it improved on a reference.
class PLEXUS_API Monitor {
public:
    /// `who` names the callback in error messages; `params` must declare monitor_param()
    /// and mode_param(). Throws ParamError when `monitor` is empty.
    Monitor(std::string who, const Params& params, double min_delta = 0.0);

    const std::string& name() const { return name_; }
    Direction direction() const { return direction_; }
    double min_delta() const { return min_delta_; }

    /// The reference before any epoch: every finite value improves on it (+inf for min,
    /// -inf for max).
    double worst() const;

    /// True when `current` beats `reference` by more than min_delta (a change of exactly
    /// min_delta does not count, as in Keras). NaN never improves.
    bool improves(double current, double reference) const;

    /// The monitored value of this epoch. Throws plexus::Error naming the logged values (and
    /// the closest one, or how to get validation values) when it is missing, so a typo fails
    /// at the first epoch's end.
    double read(const Logs& logs) const;

private:
    std::string who_;
    std::string name_;
    Direction direction_;
    double min_delta_;
};

}  // namespace plexus::support
