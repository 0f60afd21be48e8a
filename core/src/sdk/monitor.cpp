#include "plexus/support/monitor.hpp"

#include <limits>
#include <utility>
#include <vector>

#include "plexus/error.hpp"
#include "plexus/support/text.hpp"

namespace plexus::support {

bool higher_is_better(const std::string& monitor) {
    for (const char* word :
         {"acc", "precision", "recall", "sensitivity", "specificity", "f1", "fbeta", "auc"})
        if (monitor.find(word) != std::string::npos) return true;
    return false;
}

Direction resolve_direction(const std::string& mode, const std::string& monitor) {
    if (mode == "min") return Direction::min;
    if (mode == "max") return Direction::max;
    return higher_is_better(monitor) ? Direction::max : Direction::min;
}

Monitor::Monitor(std::string who, const Params& params, double min_delta)
    : who_(std::move(who)),
      name_(params.get_string("monitor")),
      direction_(resolve_direction(params.get_string("mode"), name_)),
      min_delta_(min_delta) {
    if (name_.empty()) throw ParamError(who_ + ": monitor must name a logged value");
}

double Monitor::worst() const {
    const double inf = std::numeric_limits<double>::infinity();
    return direction_ == Direction::min ? inf : -inf;
}

bool Monitor::improves(double current, double reference) const {
    return direction_ == Direction::min ? current < reference - min_delta_
                                        : current > reference + min_delta_;
}

double Monitor::read(const Logs& logs) const {
    if (const auto value = logs.get(name_)) return *value;
    std::vector<std::string> names;
    bool has_validation = false;
    for (const auto& [key, value] : logs.items()) {
        names.push_back(key);
        has_validation = has_validation || key.rfind("val_", 0) == 0;
    }
    std::string hint;
    if (const std::string close = closest_match(name_, names); !close.empty())
        hint = "; did you mean '" + close + "'?";
    else if (name_.rfind("val_", 0) == 0 && !has_validation)
        hint = "; this run has no validation data: set [data] validation = 0.1, or monitor '" +
               name_.substr(4) + "'";
    throw Error(who_ + ": monitor '" + name_ + "' is not logged (logged: " + join(names) + hint +
                ")");
}

}  // namespace plexus::support
