// The leaderboard and progress lines: plain text a user reads in a terminal, and CSV.
#include "plexus/core/study/leaderboard.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace plexus::core {
namespace {

/// Lower is better whatever the direction: what ranking compares.
double score(double value, bool maximize) {
    return maximize ? -value : value;
}

double seconds_of(const TrialRecord& t) {
    return t.finished > t.started ? t.finished - t.started : 0.0;
}

std::string value_text(const std::optional<double>& v) {
    return v ? fmt::format("{:.4f}", *v) : std::string("-");
}

/// Complete by value, then pruned by value, then failed, then running; ties by number.
std::vector<std::size_t> ranked(const std::vector<TrialRecord>& trials, bool maximize) {
    auto group = [](TrialState s) {
        return s == TrialState::complete ? 0
               : s == TrialState::pruned ? 1
               : s == TrialState::failed ? 2
                                         : 3;
    };
    std::vector<std::size_t> order(trials.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const auto &ta = trials[a], &tb = trials[b];
        if (group(ta.state) != group(tb.state)) return group(ta.state) < group(tb.state);
        const auto va = trial_objective(ta, maximize), vb = trial_objective(tb, maximize);
        if (va && vb && *va != *vb) return score(*va, maximize) < score(*vb, maximize);
        if (va.has_value() != vb.has_value()) return va.has_value();
        return ta.number < tb.number;
    });
    return order;
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c == '\n' ? ' ' : c);
    return q + "\"";
}

}  // namespace

std::optional<double> trial_objective(const TrialRecord& trial, bool maximize) {
    if (trial.state == TrialState::complete && trial.value) return trial.value;
    std::optional<double> best;
    for (const auto& [step, v] : trial.intermediate)
        if (std::isfinite(v) && (!best || score(v, maximize) < score(*best, maximize))) best = v;
    return best;
}

std::vector<std::size_t> complete_trials_best_first(const std::vector<TrialRecord>& trials,
                                                    bool maximize) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < trials.size(); ++i) {
        const auto& t = trials[i];
        if (t.state == TrialState::complete && t.value && std::isfinite(*t.value)) out.push_back(i);
    }
    std::stable_sort(out.begin(), out.end(), [&](std::size_t a, std::size_t b) {
        return score(*trials[a].value, maximize) < score(*trials[b].value, maximize);
    });
    return out;
}

std::optional<std::size_t> best_trial(const std::vector<TrialRecord>& trials, bool maximize) {
    const auto order = complete_trials_best_first(trials, maximize);
    return order.empty() ? std::nullopt : std::optional<std::size_t>(order.front());
}

std::string params_text(const SearchSpace& space, const std::vector<double>& params) {
    std::string s;
    for (std::size_t i = 0; i < space.size() && i < params.size(); ++i) {
        const SpaceParam& p = space[i];
        // A continuous value reads better rounded; the CSV and best.ini keep every digit.
        const bool continuous =
            p.kind != SpaceKind::choice && p.kind != SpaceKind::integer && p.step == 0;
        s += (i ? " " : "") + p.name + "=" +
             (continuous ? fmt::format("{:.4g}", params[i]) : param_text(p, params[i]));
    }
    return s;
}

std::string duration_text(double seconds) {
    if (seconds < 60) return fmt::format("{:.1f} s", seconds);
    const auto s = static_cast<std::uint64_t>(std::llround(seconds));
    if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
    return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
}

std::string progress_line(const StudySpec& spec, std::uint64_t planned, const TrialRecord& trial,
                          const std::vector<TrialRecord>& all, double eta_seconds) {
    std::string line = fmt::format("trial {}/{} {}  ", trial.number, planned,
                                   params_text(spec.space, trial.params));
    const auto value = trial_objective(trial, spec.maximize);
    if (value) line += fmt::format("{} {:.4f} ", spec.objective, *value);
    line += trial_state_name(trial.state);
    if (trial.state == TrialState::failed || trial.state == TrialState::pruned)
        line += " (" + trial.reason + ")";
    line += " " + duration_text(seconds_of(trial));
    if (const auto best = best_trial(all, spec.maximize))
        line += fmt::format("  best {:.4f} (#{})", *all[*best].value, all[*best].number);
    if (eta_seconds >= 0) line += "  ETA " + duration_text(eta_seconds);
    return line;
}

SavedEpochs saved_epochs(const StudyTrials& study) {
    SavedEpochs s;
    for (std::size_t i = 0; i < study.trials.size(); ++i) {
        const auto& t = study.trials[i];
        const std::uint64_t max = i < study.max_epochs.size() ? study.max_epochs[i] : 0;
        if (t.state == TrialState::running || max == 0) continue;
        s.planned += max;
        if (t.state == TrialState::pruned && t.epochs < max) s.saved += max - t.epochs;
    }
    return s;
}

std::string leaderboard_text(const StudySpec& spec, const StudyTrials& study) {
    const auto& trials = study.trials;
    std::vector<std::string> params(trials.size());
    std::size_t w_params = 10;
    for (std::size_t i = 0; i < trials.size(); ++i) {
        params[i] = params_text(spec.space, trials[i].params);
        w_params = std::max(w_params, params[i].size());
    }
    const std::string head =
        spec.objective.size() > 12 ? spec.objective.substr(0, 12) : spec.objective;
    std::string out =
        fmt::format("{:>4}  {:>5}  {:<{}}  {:>12}  {:>6}  {:>8}  {}\n", "rank", "trial",
                    "parameters", w_params, head, "epochs", "seconds", "state");
    std::size_t rank = 0;
    for (const std::size_t i : ranked(trials, spec.maximize)) {
        const auto& t = trials[i];
        std::string state = trial_state_name(t.state);
        if (t.state == TrialState::failed) state += ": " + t.reason;
        const bool ranked_row = t.state == TrialState::complete;
        out += fmt::format("{:>4}  {:>5}  {:<{}}  {:>12}  {:>6}  {:>8.1f}  {}\n",
                           ranked_row ? std::to_string(++rank) : std::string("-"), t.number,
                           params[i], w_params, value_text(trial_objective(t, spec.maximize)),
                           t.epochs, seconds_of(t), state);
    }
    const SavedEpochs saved = saved_epochs(study);
    if (spec.pruner != "none" && saved.planned > 0)
        out += fmt::format("pruning saved {} of {} epochs\n", saved.saved, saved.planned);
    return out;
}

std::string leaderboard_csv(const StudySpec& spec, const StudyTrials& study) {
    std::string out = "rank,trial,state,objective,epochs,seconds";
    for (const auto& p : spec.space) out += "," + csv_field(p.name);
    out += ",reason\n";
    std::size_t rank = 0;
    for (const std::size_t i : ranked(study.trials, spec.maximize)) {
        const auto& t = study.trials[i];
        const auto v = trial_objective(t, spec.maximize);
        out += fmt::format("{},{},{},{},{},{:.3f}",
                           t.state == TrialState::complete ? std::to_string(++rank) : "", t.number,
                           trial_state_name(t.state), v ? fmt::format("{:.17g}", *v) : "", t.epochs,
                           seconds_of(t));
        for (std::size_t k = 0; k < spec.space.size(); ++k)
            out += "," + csv_field(k < t.params.size() ? param_text(spec.space[k], t.params[k])
                                                       : std::string());
        out += "," + csv_field(t.reason) + "\n";
    }
    return out;
}

}  // namespace plexus::core
