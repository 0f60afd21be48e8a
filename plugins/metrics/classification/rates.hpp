// Host-side arithmetic of the classification metrics: per-class rates from one-vs-rest
// counts and scikit-learn's ways of averaging them over classes. Pure functions of integer
// counts, so tests can check them against hand-computed values without a device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "confusion.hpp"
#include "plexus/error.hpp"

namespace plexus::metrics {

/// How per-class scores become one number (scikit-learn's `average`).
enum class Average {
    binary,    // the score of class `positive` against all others
    micro,     // the score of the counts summed over classes
    macro,     // the unweighted mean of the per-class scores
    weighted,  // the mean of the per-class scores weighted by support (true rows per class)
    none,      // one score per class
};

/// Parses the `average` parameter; `auto` gives nullopt (decided per model in build()).
inline std::optional<Average> parse_average(const std::string& name) {
    if (name == "binary") return Average::binary;
    if (name == "micro") return Average::micro;
    if (name == "macro") return Average::macro;
    if (name == "weighted") return Average::weighted;
    if (name == "none") return Average::none;
    if (name == "auto") return std::nullopt;
    throw ParamError("average: '" + name + "' is not one of auto|binary|micro|macro|weighted|none");
}

/// num / den, or `zero_division` when den is 0 (scikit-learn's zero_division).
inline double ratio(std::uint64_t num, std::uint64_t den, double zero_division) {
    return den ? static_cast<double>(num) / static_cast<double>(den) : zero_division;
}

inline double precision_of(const OneVsRest& c, double zd) {
    return ratio(c.tp, c.tp + c.fp, zd);
}
inline double recall_of(const OneVsRest& c, double zd) {
    return ratio(c.tp, c.tp + c.fn, zd);
}
inline double specificity_of(const OneVsRest& c, double zd) {
    return ratio(c.tn, c.tn + c.fp, zd);
}

/// F-beta from counts, (1+β²)·tp / ((1+β²)·tp + β²·fn + fp), as scikit-learn ≥ 1.3 computes
/// it: equal to the weighted harmonic mean of precision and recall whenever both exist, and
/// 0 (not zero_division) when tp is 0 but fp or fn is not.
inline double f_beta_of(const OneVsRest& c, double beta, double zd) {
    const double b2 = beta * beta;
    const double tp = static_cast<double>(c.tp);
    const double den = (1.0 + b2) * tp + b2 * static_cast<double>(c.fn) + static_cast<double>(c.fp);
    return den > 0.0 ? (1.0 + b2) * tp / den : zd;
}

/// F-beta from a precision and a recall: (1+β²)·P·R / (β²·P + R); 0 when both are 0.
inline double f_beta_from(double precision, double recall, double beta) {
    const double b2 = beta * beta;
    const double den = b2 * precision + recall;
    return den > 0.0 ? (1.0 + b2) * precision * recall / den : 0.0;
}

/// Averages `score` (double(const OneVsRest&)) over `per_class` as `average` says. Classes
/// that are neither true nor predicted anywhere are left out of micro and macro, as
/// scikit-learn's default labels (those present in y_true or y_pred) leave them out; weighted
/// gives them weight 0 anyway. With nothing to average the result is `zd`. Requires average
/// != none and, for binary, positive < per_class.size().
template <class Score>
double average_score(Average average, const std::vector<OneVsRest>& per_class, std::size_t positive,
                     double zd, Score score) {
    if (average == Average::binary) return score(per_class.at(positive));
    OneVsRest pooled;
    double sum = 0.0, weight = 0.0;
    for (const OneVsRest& c : per_class) {
        if (!c.present()) continue;
        pooled += c;
        const double w = average == Average::weighted ? static_cast<double>(c.support()) : 1.0;
        sum += w * score(c);
        weight += w;
    }
    if (average == Average::micro) return score(pooled);
    return weight > 0.0 ? sum / weight : zd;
}

}  // namespace plexus::metrics
