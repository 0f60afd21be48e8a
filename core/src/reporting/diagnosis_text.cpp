// The diagnosis as words: each finding's label, the terminal's text and metrics.json's form.
#include <fmt/format.h>

#include "diagnose_format.hpp"
#include "plexus/core/reporting/diagnose.hpp"

namespace plexus::core {

using diagnose_format::num;
using diagnose_format::pct;
using fmt::format;

std::string finding_label(const std::string& kind) {
    if (kind == "diverged") return "diverged (learning rate too high)";
    if (kind == "collapsed")
        return "collapsed to chance (learning rate too high or bad initialisation)";
    if (kind == "lr_too_high") return "learning rate too high";
    if (kind == "overfitting") return "overfitting (high variance)";
    if (kind == "underfitting") return "underfitting (high avoidable bias)";
    if (kind == "lr_too_low_or_too_short")
        return "still improving (train longer or raise the learning rate)";
    if (kind == "good_fit") return "good fit";
    return kind;
}

std::string Diagnosis::to_text() const {
    std::string out = findings.empty() ? "diagnosis: " + headline + "\n" : "";
    for (std::size_t i = 0; i < findings.size(); ++i) {
        const Finding& f = findings[i];
        out += (i ? "also: " : "diagnosis: ") + finding_label(f.kind) + ": " + f.summary + "\n";
        for (const auto& line : f.evidence) out += "  evidence: " + line + "\n";
        for (const auto& line : f.next_steps) out += "  try: " + line + "\n";
    }
    for (std::size_t i = 0; i < figures.size(); ++i) {
        const auto& [name, value] = figures[i];
        const bool count = name == "epoch" || name == "best_epoch";
        const bool fraction = name.find("error") != std::string::npos || name == "avoidable_bias" ||
                              name == "variance";
        out += (i ? ", " : "figures: ") + name + " " +
               (count      ? format("{:.0f}", value)
                : fraction ? pct(value)
                           : num(value));
    }
    if (!figures.empty()) out += "\n";
    for (const auto& note : notes) out += "note: " + note + "\n";
    return out;
}

nlohmann::json Diagnosis::to_json() const {
    auto found = nlohmann::json::array(), numbers = nlohmann::json::object();
    for (const auto& f : findings)
        found.push_back({{"kind", f.kind},
                         {"summary", f.summary},
                         {"evidence", f.evidence},
                         {"next_steps", f.next_steps}});
    for (const auto& [name, value] : figures) numbers[name] = value;
    return {{"headline", headline}, {"best_epoch", best_epoch}, {"findings", found},
            {"figures", numbers},   {"notes", notes},           {"stop_reason", stop_reason}};
}

}  // namespace plexus::core
