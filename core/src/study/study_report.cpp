#include "plexus/core/study/study_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "plexus/core/reporting/report.hpp"
#include "plexus/core/reporting/svg_chart.hpp"
#include "plexus/error.hpp"
#include "plexus/support/files.hpp"
#include "study_report_charts.hpp"

namespace plexus::core {

namespace {

constexpr const char* kExtraStyle = R"css(
.bar{fill:#1f77b4}.cross{fill:none}#curves polyline{stroke-opacity:.75}
.table-wrap{overflow-x:auto}tr.best td{background:#fdf0e6}
td.state-complete{color:#1f5f8b}td.state-pruned{color:#b35900}td.state-failed{color:#a61b1b}
td.reason{text-align:left;max-width:420px;overflow-wrap:anywhere}
)css";

// State colours, shared by every chart and the table's legend.
constexpr const char* kComplete = "#1f77b4";
constexpr const char* kPruned = "#ff7f0e";
constexpr const char* kFailed = "#7f7f7f";
constexpr const char* kRunning = "#2ca02c";
constexpr const char* kBest = "#c0392b";

using Metrics = std::vector<std::pair<std::string, double>>;

const char* state_colour(TrialState s) {
    return s == TrialState::complete ? kComplete
           : s == TrialState::pruned ? kPruned
           : s == TrialState::failed ? kFailed
                                     : kRunning;
}

std::string number(double v, int digits = 5) {
    return std::isfinite(v) ? svg::format_number(v, digits) : "&#8212;";
}

bool has_params(const StudySpec& spec, const TrialRecord& t) {
    return t.params.size() == spec.space.size();
}

// A parameter as the page shows it (escaped): a choice's text, an integer's digits, a real
// to five significant digits. A value no sampler draws (read from a damaged database) still
// shows, as a number.
std::string param_html(const SpaceParam& param, double v) {
    if (!std::isfinite(v)) return "&#8212;";
    if (param.kind == SpaceKind::choice && v >= 0 && v == std::floor(v) &&
        v < static_cast<double>(param.choices.size()))
        return svg::escape(param.choices[static_cast<std::size_t>(v)]);
    if (param.kind == SpaceKind::integer && v == std::floor(v) && std::abs(v) < 1e15)
        return fmt::format("{:.0f}", v);
    return number(v);
}

// The text substituted for ${name} (every digit, so the best trial can be copied into an
// experiment); param_html's when the value is not one the space can hold.
std::string exact_param_html(const SpaceParam& param, double v) {
    try {
        return svg::escape(param_text(param, v));
    } catch (const Error&) {
        return param_html(param, v);
    }
}

std::string duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "&#8212;";
    if (seconds < 60) return fmt::format("{:.1f} s", seconds);
    const auto s = static_cast<long long>(std::min(seconds, 1e12));
    if (s < 3600) return fmt::format("{} min {:02} s", s / 60, s % 60);
    return fmt::format("{} h {:02} min", s / 3600, s % 3600 / 60);
}

double trial_seconds(const TrialRecord& t) {
    return t.finished > 0 && t.finished >= t.started ? t.finished - t.started : NAN;
}

bool better(const StudySpec& spec, double a, double b) {
    return spec.maximize ? a > b : a < b;
}

// The best complete trial; the earliest of equal ones.
const TrialRecord* best_trial(const StudySpec& spec, const std::vector<TrialRecord>& trials) {
    const TrialRecord* best = nullptr;
    for (const TrialRecord& t : trials)
        if (t.state == TrialState::complete && t.value && std::isfinite(*t.value) &&
            (!best || better(spec, *t.value, *best->value)))
            best = &t;
    return best;
}

std::string card(const std::string& name, const std::string& value_html) {
    return "<div class=\"card\"><div class=\"name\">" + svg::escape(name) +
           "</div><div class=\"value\">" + value_html + "</div></div>\n";
}

// The longest complete trial stands for a trial that is not pruned: each pruned trial saved
// the epochs it did not train up to that length.
std::uint64_t epochs_saved(const std::vector<TrialRecord>& trials) {
    std::uint64_t full = 0, saved = 0;
    for (const TrialRecord& t : trials)
        if (t.state == TrialState::complete) full = std::max(full, t.epochs);
    for (const TrialRecord& t : trials)
        if (t.state == TrialState::pruned && t.epochs < full) saved += full - t.epochs;
    return saved;
}

std::string summary_cards(const std::vector<TrialRecord>& trials) {
    std::size_t counts[4] = {0, 0, 0, 0};
    double first = INFINITY, last = -INFINITY, busy = 0.0;
    for (const TrialRecord& t : trials) {
        ++counts[std::min<std::size_t>(static_cast<std::size_t>(t.state), 3)];
        const double s = trial_seconds(t);
        if (!std::isfinite(s)) continue;
        first = std::min(first, t.started);
        last = std::max(last, t.finished);
        busy += s;
    }
    std::string s = "<div class=\"cards\">\n";
    for (const TrialState st :
         {TrialState::complete, TrialState::pruned, TrialState::failed, TrialState::running})
        s += card(trial_state_name(st), std::to_string(counts[static_cast<std::size_t>(st)]));
    s += card("total time", first <= last ? duration(last - first) : "&#8212;");
    s += card("time in trials", duration(busy));
    s += card("epochs saved by pruning", std::to_string(epochs_saved(trials)));
    return s + "</div>\n";
}

std::string best_section(const StudySpec& spec, const TrialRecord* best, const Metrics& test) {
    std::string s = "<section id=\"best\"><h2>Best trial</h2>\n";
    if (!best) return s + "<p>No trial has completed yet.</p></section>\n";
    s += "<p class=\"meta\">Trial " + std::to_string(best->number) + ": " +
         svg::escape(spec.objective) + " = " + number(*best->value, 6) + "</p>\n";
    if (has_params(spec, *best)) {
        s += "<table class=\"params\"><tr><th>parameter</th><th>value</th></tr>\n";
        for (std::size_t j = 0; j < spec.space.size(); ++j)
            s += "<tr><td>" + svg::escape(spec.space[j].name) + "</td><td>" +
                 exact_param_html(spec.space[j], best->params[j]) + "</td></tr>\n";
        s += "</table>\n";
    }
    if (test.empty())
        return s +
               "<p class=\"meta\">The test evaluation of the best trial has not run yet.</p>"
               "</section>\n";
    s += "<h3>Test metrics</h3><div class=\"cards\">\n";
    for (const auto& [name, value] : test) s += card(name, number(value));
    return s + "</div></section>\n";
}

// The value a trial is plotted at: its objective, or for a pruned one its last reported value.
std::optional<double> shown_value(const TrialRecord& t) {
    if (t.state == TrialState::complete && t.value) return t.value;
    if (t.state == TrialState::pruned && !t.intermediate.empty())
        return t.intermediate.back().second;
    return std::nullopt;
}

std::string figure(const std::string& svg, const std::string& caption) {
    return "<figure>" + svg + (caption.empty() ? "" : "<figcaption>" + caption + "</figcaption>") +
           "</figure>\n";
}

std::string history_section(const StudySpec& spec, const std::vector<TrialRecord>& trials) {
    svg::ScatterChart c;
    c.x_label = "trial";
    c.y_label = spec.objective;
    c.x_integer = true;
    svg::Polyline best_line{{}, kBest, false, true, 2.0, "best so far"};
    std::optional<double> best;
    for (const TrialRecord& t : trials) {
        const auto v = shown_value(t);
        if (!v) continue;
        const double x = static_cast<double>(t.number);
        c.dots.push_back({x, *v, state_colour(t.state),
                          "trial " + std::to_string(t.number) + " (" + trial_state_name(t.state) +
                              "): " + svg::format_number(*v, 6)});
        if (t.state != TrialState::complete || !std::isfinite(*v)) continue;
        if (!best || better(spec, *v, *best)) best = v;
        best_line.points.emplace_back(x, *best);
    }
    std::uint64_t last = 0;
    for (const TrialRecord& t : trials) last = std::max(last, t.number);
    if (best) best_line.points.emplace_back(static_cast<double>(last), *best);  // to the end
    c.lines.push_back(best_line);
    c.legend = {{"complete", kComplete}};
    if (std::any_of(c.dots.begin(), c.dots.end(),
                    [](const svg::Dot& d) { return d.colour == kPruned; }))
        c.legend.push_back({"pruned (last value)", kPruned});
    c.legend.push_back({"best so far", kBest, true});
    return "<section id=\"history\"><h2>Optimization history</h2>" +
           figure(svg::scatter_chart(c),
                  "The objective of each trial by trial number (" +
                      std::string(spec.maximize ? "higher" : "lower") +
                      " is better); the line is the best value so far. Pruned trials show "
                      "their last reported value; failed ones have none.") +
           "</section>\n";
}

std::string parameters_section(const StudySpec& spec, const std::vector<TrialRecord>& trials,
                               const TrialRecord* best) {
    if (spec.space.empty()) return "";
    std::string charts;
    for (std::size_t j = 0; j < spec.space.size(); ++j) {
        const SpaceParam& p = spec.space[j];
        svg::ScatterChart c;
        c.width = 380;
        c.height = 260;
        c.x_label = p.name;
        c.y_label = spec.objective;
        c.x_log = p.kind == SpaceKind::log_uniform || (p.kind == SpaceKind::integer && p.log);
        c.x_integer = p.kind == SpaceKind::integer;
        if (p.kind == SpaceKind::choice) c.categories = p.choices;
        for (const TrialRecord& t : trials) {
            if (t.state != TrialState::complete || !t.value || !has_params(spec, t)) continue;
            const double x = t.params[j];
            if (p.kind == SpaceKind::choice &&
                !(x >= 0 && x < static_cast<double>(p.choices.size()) && x == std::floor(x)))
                continue;
            c.dots.push_back(
                {x, *t.value, &t == best ? kBest : kComplete,
                 "trial " + std::to_string(t.number) + ": " + svg::format_number(*t.value, 6)});
        }
        charts += figure(svg::scatter_chart(c), "");
    }
    return "<section id=\"parameters\"><h2>Objective by parameter</h2><p>Each complete trial "
           "against each parameter; the best trial in red.</p><div class=\"charts\">\n" +
           charts + "</div></section>\n";
}

std::string curves_section(const StudySpec& spec, const std::vector<TrialRecord>& trials) {
    svg::ScatterChart c;
    c.x_label = "epoch";
    c.y_label = spec.objective;
    c.x_integer = true;
    for (const TrialRecord& t : trials) {
        if (t.intermediate.empty()) continue;
        const bool pruned = t.state == TrialState::pruned;
        svg::Polyline line{
            {},     state_colour(t.state),
            pruned, false,
            1.5,    "trial " + std::to_string(t.number) + " (" + trial_state_name(t.state) + ")"};
        for (const auto& [epoch, v] : t.intermediate)
            line.points.emplace_back(static_cast<double>(epoch), v);
        if (pruned)
            c.dots.push_back(
                {line.points.back().first, line.points.back().second, kPruned,
                 line.title + " stopped at epoch " + std::to_string(t.intermediate.back().first),
                 true});
        c.lines.push_back(std::move(line));
    }
    if (c.lines.empty()) return "";
    for (const TrialState st :
         {TrialState::complete, TrialState::pruned, TrialState::failed, TrialState::running})
        if (std::any_of(trials.begin(), trials.end(), [&](const TrialRecord& t) {
                return t.state == st && !t.intermediate.empty();
            }))
            c.legend.push_back(
                {trial_state_name(st), state_colour(st), true, st == TrialState::pruned});
    return "<section id=\"curves\"><h2>Intermediate values</h2>" +
           figure(svg::scatter_chart(c),
                  "The objective after each epoch of every trial; a pruned trial is dashed, "
                  "with an &#215; where it stopped.") +
           "</section>\n";
}

std::string importance_section(const StudySpec& spec, const std::vector<TrialRecord>& trials) {
    const auto ranking = parameter_importance(spec, trials);
    std::string s = "<section id=\"importance\"><h2>Parameter importance</h2>\n";
    if (ranking.empty()) return s + "<p>Needs at least two complete trials.</p></section>\n";
    double total = 0.0;
    for (const auto& entry : ranking) total += entry.second;
    if (total == 0.0) return s + "<p>The objective has not varied between trials.</p></section>\n";
    return s + figure(svg::bar_chart(ranking, "share of explained variance"), "") +
           "<p>Each parameter's correlation ratio &#951;&#178;: the share of the objective's "
           "variance between groups of complete trials (one group per choice, quantile bins "
           "otherwise), normalised to sum to 100&#160;%. It sees each parameter alone, not "
           "their interactions.</p></section>\n";
}

std::string trials_table(const StudySpec& spec, const std::vector<TrialRecord>& trials,
                         const TrialRecord* best) {
    std::string s =
        "<section id=\"trials\"><h2>Trials</h2><div class=\"table-wrap\"><table>\n"
        "<tr><th>trial</th><th>state</th>";
    for (const SpaceParam& p : spec.space) s += "<th>" + svg::escape(p.name) + "</th>";
    s += "<th>" + svg::escape(spec.objective) +
         "</th><th>epochs</th><th>seconds</th>"
         "<th>note</th></tr>\n";
    for (const TrialRecord& t : trials) {
        s += std::string(&t == best ? "<tr class=\"best\">" : "<tr>") + "<td>" +
             std::to_string(t.number) + "</td><td class=\"state-" + trial_state_name(t.state) +
             "\">" + trial_state_name(t.state) + "</td>";
        for (std::size_t j = 0; j < spec.space.size(); ++j)
            s += "<td>" + (has_params(spec, t) ? param_html(spec.space[j], t.params[j]) : "?") +
                 "</td>";
        std::string note = t.reason;
        if (t.rerun_of)
            note += (note.empty() ? "" : "; ") + fmt::format("re-runs trial {}", *t.rerun_of);
        if (t.rerun) note += (note.empty() ? "" : "; ") + std::string("re-run by a later trial");
        s += "<td>" + (t.value ? number(*t.value, 6) : "&#8212;") + "</td><td>" +
             std::to_string(t.epochs) + "</td><td>" + number(trial_seconds(t), 4) +
             "</td><td class=\"reason\">" + svg::escape(note) + "</td></tr>\n";
    }
    return s + "</table></div></section>\n";
}

}  // namespace

std::string render_study_report(const StudySpec& spec, const std::vector<TrialRecord>& trials,
                                const Metrics& test_metrics) {
    const TrialRecord* best = best_trial(spec, trials);
    const std::string title = spec.name.empty() ? "Plexus study" : spec.name;
    std::string s =
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
        "<title>" +
        svg::escape(title) + " &#8212; Plexus study</title>\n<style>" + report_style() +
        kExtraStyle + "</style></head>\n<body><main>\n";
    s += "<header><h1>" + svg::escape(title) +
         "</h1>\n<p class=\"meta\">Objective: " + svg::escape(spec.objective) + " (" +
         (spec.maximize ? "maximize" : "minimize") + "). Sampler: " + svg::escape(spec.sampler) +
         ". Pruner: " + svg::escape(spec.pruner) + ".</p>\n" + summary_cards(trials) +
         "</header>\n";
    s += best_section(spec, best, test_metrics);
    if (trials.empty()) return s + "<p>No trials yet.</p></main></body></html>\n";
    s += history_section(spec, trials) + parameters_section(spec, trials, best) +
         curves_section(spec, trials) + importance_section(spec, trials) +
         trials_table(spec, trials, best);
    return s + "</main></body></html>\n";
}

void write_study_report(const StudySpec& spec, const std::vector<TrialRecord>& trials,
                        const Metrics& test_metrics, const std::filesystem::path& html) {
    support::write_file_atomic(html, render_study_report(spec, trials, test_metrics));
}

}  // namespace plexus::core
