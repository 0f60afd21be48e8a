// Shared by the callbacks that watch one logged value (early_stopping, reduce_lr_on_plateau,
// model_checkpoint): which direction is better, what counts as an improvement, and a clear
// error when the value is not logged. Header-only: each plugin library compiles its own copy,
// so nothing here crosses a plugin boundary.
#pragma once

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "plexus/callback.hpp"
#include "plexus/core/text.hpp"
#include "plexus/error.hpp"
#include "plexus/params.hpp"

namespace plexus::callbacks {

/// The `monitor` parameter, declared once for every monitoring callback.
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
            "auto: max for names containing acc, precision, recall, sensitivity, specificity, f1, fbeta or auc, else min"};
}

enum class Direction { min, max };

/// Names of values where higher is better; everything else (losses, errors) is minimised.
inline bool higher_is_better(const std::string& monitor) {
    for (const char* word : {"acc", "precision", "recall", "sensitivity", "specificity", "f1", "fbeta", "auc"})
        if (monitor.find(word) != std::string::npos) return true;
    return false;
}

inline Direction resolve_direction(const std::string& mode, const std::string& monitor) {
    if (mode == "min") return Direction::min;
    if (mode == "max") return Direction::max;
    return higher_is_better(monitor) ? Direction::max : Direction::min;
}

/// One monitored value: reads it from the logs and says whether it improved on a reference.
class Monitor {
public:
    /// `who` names the callback in error messages; `params` holds `monitor` and `mode`.
    Monitor(std::string who, const Params& params, double min_delta = 0.0)
        : who_(std::move(who)),
          name_(params.get_string("monitor")),
          direction_(resolve_direction(params.get_string("mode"), name_)),
          min_delta_(min_delta) {
        if (name_.empty()) throw ParamError(who_ + ": monitor must name a logged value");
    }

    const std::string& name() const { return name_; }
    Direction direction() const { return direction_; }
    double min_delta() const { return min_delta_; }

    /// The reference before any epoch: every finite value improves on it.
    double worst() const {
        const double inf = std::numeric_limits<double>::infinity();
        return direction_ == Direction::min ? inf : -inf;
    }

    /// True when `current` beats `reference` by more than min_delta (a change of exactly
    /// min_delta does not count, as in Keras). NaN never improves.
    bool improves(double current, double reference) const {
        return direction_ == Direction::min ? current < reference - min_delta_
                                            : current > reference + min_delta_;
    }

    /// The monitored value of this epoch. Throws plexus::Error naming the logged values (and
    /// the closest one) when it is missing, so a typo fails at the first epoch's end.
    double read(const Logs& logs) const {
        if (const auto value = logs.get(name_)) return *value;
        std::vector<std::string> names;
        bool has_validation = false;
        for (const auto& [key, value] : logs.items()) {
            names.push_back(key);
            has_validation = has_validation || key.rfind("val_", 0) == 0;
        }
        std::string hint;
        if (const std::string close = core::closest_match(name_, names); !close.empty())
            hint = "; did you mean '" + close + "'?";
        else if (name_.rfind("val_", 0) == 0 && !has_validation)
            hint = "; this run has no validation data: set [data] validation = 0.1, or monitor '" +
                   name_.substr(4) + "'";
        throw Error(who_ + ": monitor '" + name_ + "' is not logged (logged: " + core::join(names) +
                    hint + ")");
    }

private:
    std::string who_;
    std::string name_;
    Direction direction_;
    double min_delta_;
};

}  // namespace plexus::callbacks
