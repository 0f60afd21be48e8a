// The rules of docs/diagnosis.md over a training history. Each rule is a function that
// returns a Finding when it fires; diagnose() orders them: divergence, the learning rate,
// bias and variance by size (Ng: work on the larger first), then "still improving".
#include "plexus/core/reporting/diagnose.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "diagnose_format.hpp"

namespace plexus::core {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using diagnose_format::num;
using diagnose_format::pct;
using fmt::format;

/// The columns the rules read, one value per row; an empty vector is an absent column (or one
/// that holds nothing but NaN, such as val_loss without validation data).
struct Curves {
    std::size_t n = 0, last = 0;
    std::vector<double> epoch, loss, val_loss, score, val_score, lr;
    bool regularized = false;  // a reg_loss column: the model already carries a penalty
    bool regression = false;
    /// A regression's errors in target units, by column name ("val_mae", ...).
    std::vector<std::pair<std::string, std::vector<double>>> unit_errors;
    double train_error = kNaN, val_error = kNaN, bias = kNaN;  // at the last epoch

    bool has_val() const { return !val_loss.empty(); }
    bool has_errors() const { return std::isfinite(train_error) && std::isfinite(val_error); }
    /// val_loss with validation data, the training loss otherwise.
    const std::vector<double>& watched() const { return has_val() ? val_loss : loss; }
    const char* watched_name() const { return has_val() ? "val_loss" : "loss"; }
    std::size_t epoch_of(std::size_t row) const {
        const bool logged = !epoch.empty() && epoch[row] >= 0 && epoch[row] < 1e15;
        return logged ? static_cast<std::size_t>(epoch[row]) : row + 1;
    }
    double last_lr() const { return lr.empty() ? kNaN : lr.back(); }
    double first_lr() const { return lr.empty() ? kNaN : lr.front(); }
};

/// How a schedule (reduce_lr_on_plateau, a decay) changed the logged rate: the rate of the
/// first epoch and the epoch where it first fell below lr_cut of it; none when it never did.
struct RateCut {
    double start = kNaN, last = kNaN;
    std::size_t epoch = 0;  // 0: not cut

    std::string evidence() const {
        return format("lr {} at the start, cut by a schedule from epoch {} on, to {} at the last "
                      "epoch",
                      num(start), epoch, num(last));
    }
};

RateCut rate_cut(const Curves& c, const DiagnoseOptions& o) {
    RateCut cut;
    if (c.lr.empty() || !(c.lr.front() > 0) || !std::isfinite(c.lr.front())) return cut;
    cut.start = c.lr.front();
    cut.last = c.last_lr();
    for (std::size_t i = 1; i < c.n && !cut.epoch; ++i)
        if (c.lr[i] >= 0 && c.lr[i] < o.lr_cut * cut.start) cut.epoch = c.epoch_of(i);
    if (!(cut.last >= 0 && cut.last < o.lr_cut * cut.start)) cut.epoch = 0;  // raised again
    return cut;
}

std::vector<double> column(const History& h, const std::string& name) {
    const auto it = std::find(h.columns.begin(), h.columns.end(), name);
    if (it == h.columns.end()) return {};
    const auto c = static_cast<std::size_t>(it - h.columns.begin());
    std::vector<double> values;
    bool any = false;
    for (const auto& row : h.rows) {
        values.push_back(c < row.size() ? row[c] : kNaN);
        any = any || !std::isnan(values.back());
    }
    return any ? values : std::vector<double>{};
}

Curves read_curves(const History& h, const DiagnoseOptions& o) {
    Curves c;
    c.regression = o.regression;
    c.loss = column(h, "loss");
    c.n = c.loss.empty() ? 0 : h.rows.size();  // without a training loss there is no curve
    if (c.n == 0) return c;
    c.last = c.n - 1;
    c.epoch = column(h, "epoch");
    c.val_loss = column(h, "val_loss");
    c.score = column(h, o.metric);
    c.val_score = column(h, "val_" + o.metric);
    c.lr = column(h, "lr");
    c.regularized = !column(h, "reg_loss").empty();
    if (!c.score.empty()) c.train_error = 1.0 - c.score[c.last];
    for (const std::string name : {"mae", "mse", "rmse", "r2", "mape"})
        c.regression =
            c.regression ||
            (c.score.empty() && (!column(h, name).empty() || !column(h, "val_" + name).empty()));
    for (const std::string name : {"mae", "rmse"}) {
        const std::string label = (c.has_val() ? "val_" : "") + name;
        if (auto v = column(h, label); c.regression && !v.empty())
            c.unit_errors.emplace_back(label, std::move(v));
    }
    if (!c.val_score.empty() && c.has_val()) c.val_error = 1.0 - c.val_score[c.last];
    c.bias = c.train_error - o.baseline_error;
    return c;
}

/// Index of the smallest finite value in [0, end); end when there is none.
std::size_t argmin(const std::vector<double>& v, std::size_t end) {
    std::size_t best = end;
    for (std::size_t i = 0; i < end; ++i)
        if (std::isfinite(v[i]) && (best == end || v[i] < v[best])) best = i;
    return best;
}

/// "lower the learning rate (lr 0.05 -> 0.005 to 0.01667)": the new range as multiples.
std::string lr_change(double lr, double low, double high, const char* verb) {
    if (!std::isfinite(lr) || lr <= 0) {
        const bool down = high < 1.0;
        return format("{} the learning rate {:.3g}x to {:.3g}x", verb, down ? 1.0 / high : low,
                      down ? 1.0 / low : high);
    }
    return format("{} the learning rate (lr {} -> {} to {})", verb, num(lr), num(lr * low),
                  num(lr * high));
}

std::optional<Finding> divergence(const Curves& c, const std::string& stop,
                                  const DiagnoseOptions& o) {
    Finding f{"diverged", "the loss became NaN or infinite", {}, {}};
    if (stop.find("NaN") != std::string::npos || stop.find("nfinite") != std::string::npos)
        f.evidence.push_back("stopped: " + stop);
    for (std::size_t i = 0, found = 0; i < c.n && !found; ++i)
        for (const auto* v : {&c.loss, &c.val_loss})
            if (!found && !v->empty() && !std::isfinite((*v)[i])) {
                f.evidence.push_back(format("epoch {}: {} {}", c.epoch_of(i),
                                            v == &c.loss ? "loss" : "val_loss", num((*v)[i])));
                found = 1;
            }
    if (f.evidence.empty() && c.n > 1) {
        const std::size_t m = argmin(c.loss, c.n);
        const double growth = c.loss[c.last] / c.loss[m];
        if (m < c.last && growth >= o.diverge_factor && c.loss[c.last] > c.loss[0]) {
            f.evidence.push_back(
                format("loss rose from its minimum {} at epoch {} to {} at epoch {} ({:.3g}x), "
                       "above epoch {}'s {}",
                       num(c.loss[m]), c.epoch_of(m), num(c.loss[c.last]), c.epoch_of(c.last),
                       growth, c.epoch_of(0), num(c.loss[0])));
            f.summary = format("the loss grew {:.3g}x from its minimum", growth);
        }
    }
    if (f.evidence.empty()) return std::nullopt;
    if (std::isfinite(c.last_lr())) f.evidence.push_back("lr " + num(c.last_lr()));
    f.next_steps = {
        lr_change(c.last_lr(), 0.01, 0.1, "lower"),
        "check that the inputs are scaled (transform = scale range=0,1, or standardize)",
        "clip the gradients (clipnorm=1 on the optimizer)"};
    if (c.regression)
        f.next_steps.insert(f.next_steps.begin() + 2,
                            "scale the targets too: target_transform = standardize under [data] "
                            "(reports stay in the target's units)");
    return f;
}

/// The number of classes: given, else the k whose chance loss ln k the training loss is
/// nearest to (0 when that is no whole number of classes).
std::size_t class_count(const Curves& c, const DiagnoseOptions& o) {
    if (o.classes >= 2) return o.classes;
    const double loss = c.loss[c.last];
    if (!(loss > std::log(1.5) && loss < std::log(1e6))) return 0;
    return static_cast<std::size_t>(std::lround(std::exp(loss)));
}

/// A collapse: the network answers every input alike, so its loss is the cross-entropy of a
/// uniform guess, ln k, and its accuracy that of a guess, 1/k. Too large a step (sgd lr=3)
/// or a bad initialisation saturates or kills the units and no gradient comes back; more
/// capacity, epochs or a larger rate (what underfitting calls for) cannot help.
std::optional<Finding> collapse(const Curves& c, const DiagnoseOptions& o) {
    if (c.regression || c.score.empty() || !std::isfinite(c.score[c.last])) return std::nullopt;
    const std::size_t k = class_count(c, o);
    if (k < 2) return std::nullopt;
    const double chance = std::log(static_cast<double>(k)), guess = 1.0 / static_cast<double>(k);
    const double loss = c.loss[c.last], accuracy = c.score[c.last];
    if (!(std::fabs(loss - chance) <= o.collapse_loss * chance) ||
        accuracy > std::min(o.collapse_accuracy * guess, guess + 0.1))
        return std::nullopt;
    Finding f{"collapsed", "", {}, {}};
    f.summary = format("loss {} is the chance level ln({}) and {} {} is a guess's 1/{}: every "
                       "input gets the same answer",
                       num(loss), k, o.metric, pct(accuracy), k);
    f.evidence.push_back(format("epoch {}: loss {}, chance level ln({}) = {} (the loss of a uniform "
                                "guess over {} classes)",
                                c.epoch_of(c.last), num(loss), k, num(chance), k));
    f.evidence.push_back(format("epoch {}: {} {}, 1/{} = {}", c.epoch_of(c.last), o.metric,
                                pct(accuracy), k, pct(guess)));
    if (const std::size_t m = argmin(c.loss, c.n); m < c.last && c.loss[m] < 0.8 * chance)
        f.evidence.push_back(format("the loss was {} at epoch {} before it collapsed",
                                    num(c.loss[m]), c.epoch_of(m)));
    const double lr = std::isfinite(c.first_lr()) ? c.first_lr() : c.last_lr();
    if (std::isfinite(lr)) f.evidence.push_back("lr " + num(lr));
    f.next_steps = {
        lr_change(lr, 0.01, 0.1, "lower") +
            ", or run plexus lr_find on the experiment and start below the rate where its loss "
            "turns up",
        "check the initialisation: init=he_normal on dense layers before relu (glorot_uniform "
        "before tanh or sigmoid)",
        "check that the inputs are scaled (transform = scale range=0,1, or standardize)",
        "clip the gradients (clipnorm=1 on the optimizer)"};
    return f;
}

std::optional<Finding> oscillation(const Curves& c, const DiagnoseOptions& o) {
    const auto& v = c.watched();
    // Direction changes among the moves of at least oscillation_step; smaller moves in between
    // neither count nor break a run in one direction.
    std::size_t turns = 0;
    int last_sign = 0;
    for (std::size_t i = 1; i < c.n; ++i) {
        const double step = (v[i] - v[i - 1]) / std::fabs(v[i - 1]);
        if (!(std::fabs(step) >= o.oscillation_step)) continue;
        const int sign = step > 0 ? 1 : -1;
        if (last_sign != 0 && sign != last_sign) ++turns;
        last_sign = sign;
    }
    if (turns == 0 || turns < o.oscillation_turns) return std::nullopt;
    // A loss still falling fast means the optimizer is making progress: the zigzag is then
    // the validation noise of a model that is overfitting, not a step size problem.
    const std::size_t half = c.last / 2;
    const double progress = c.loss[half] > 0 ? 1.0 - c.loss[c.last] / c.loss[half] : 0.0;
    if (progress >= o.oscillation_progress) return std::nullopt;
    std::size_t worst = 0;  // the sharpest turn, as an example
    double worst_swing = 0.0;
    for (std::size_t j = 1; j + 1 < c.n; ++j) {
        const double up = v[j] - v[j - 1], down = v[j + 1] - v[j];
        const double swing = std::min(std::fabs(up), std::fabs(down));
        if (up * down < 0 && swing > worst_swing) worst_swing = swing, worst = j;
    }
    const char* name = c.watched_name();
    Finding f{"lr_too_high", "", {}, {}};
    f.summary = format("{} oscillates and the training loss has stopped improving", name);
    f.evidence.push_back(format("{} changed direction {} times, counting moves of {} or more", name,
                                turns, pct(o.oscillation_step)));
    if (worst > 0)
        f.evidence.push_back(format("largest swing: {} {} -> {} -> {} at epochs {}-{}", name,
                                    num(v[worst - 1]), num(v[worst]), num(v[worst + 1]),
                                    c.epoch_of(worst - 1), c.epoch_of(worst + 1)));
    f.evidence.push_back(format(
        "loss fell only {} over the last half ({} at epoch {} -> {} at epoch {})", pct(progress),
        num(c.loss[half]), c.epoch_of(half), num(c.loss[c.last]), c.epoch_of(c.last)));
    const RateCut cut = rate_cut(c, o);
    if (cut.epoch) {
        // A schedule already cut the rate: prescribing one, or a rate below the cut one, would
        // repeat what did not work; the rate to change is the one training started with.
        f.evidence.push_back(cut.evidence());
        f.next_steps = {
            format("a schedule already cut the rate (to {}) and the loss did not recover: "
                   "cutting it further will not help; lower the starting rate instead (lr {} -> "
                   "{} to {})",
                   num(cut.last), num(cut.start), num(cut.start * 0.1), num(cut.start / 3)),
            "stop at the plateau rather than shrink the rate towards 0: callback = "
            "early_stopping monitor=val_loss patience=5 restore_best=true, and a floor on the "
            "cuts (min_lr=1e-5 on reduce_lr_on_plateau)",
            "a larger batch_size also smooths the updates"};
        return f;
    }
    if (std::isfinite(c.last_lr())) f.evidence.push_back("lr " + num(c.last_lr()));
    f.next_steps = {
        lr_change(c.last_lr(), 0.1, 1.0 / 3, "lower") + " and compare",
        "or decay it: callback = reduce_lr_on_plateau monitor=val_loss factor=0.5 patience=2",
        "a larger batch_size also smooths the updates"};
    return f;
}

std::optional<Finding> overfitting(const Curves& c, const DiagnoseOptions& o, std::size_t best) {
    if (!c.has_val()) return std::nullopt;
    const std::size_t last = c.last;
    Finding f{"overfitting", "", {}, {}};
    std::string why;
    if (c.has_errors()) {
        const double gap = c.val_error - c.train_error;
        if (gap >= o.overfit_gap && gap >= o.overfit_gap_ratio * c.train_error) {
            f.evidence.push_back(
                format("epoch {}: training error {}, validation error {} (gap {}", c.epoch_of(last),
                       pct(c.train_error), pct(c.val_error), pct(gap, "points")) +
                (c.train_error > 0 ? format(" = {:.3g}x the training error)", gap / c.train_error)
                                   : std::string(")")));
            why = format("validation error {} is far above training error {}", pct(c.val_error),
                         pct(c.train_error));
        }
    } else if (c.loss[last] > 0 && c.val_loss[last] >= o.overfit_loss_ratio * c.loss[last]) {
        const double ratio = c.val_loss[last] / c.loss[last];
        f.evidence.push_back(format("epoch {}: loss {}, val_loss {} ({:.3g}x)", c.epoch_of(last),
                                    num(c.loss[last]), num(c.val_loss[last]), ratio));
        why = format("val_loss is {:.3g}x the training loss", ratio);
    }
    if (best < last && c.val_loss[best] > 0 && c.loss[best] > 0) {
        const double rise = c.val_loss[last] / c.val_loss[best] - 1.0;
        const double fall = 1.0 - c.loss[last] / c.loss[best];
        if (rise >= o.rise_val_loss && fall >= o.rise_loss_fall) {
            f.evidence.push_back(
                format("val_loss rose {} from its minimum {} at epoch {} to {} at epoch {} while "
                       "loss fell {} ({} -> {})",
                       pct(rise), num(c.val_loss[best]), c.epoch_of(best), num(c.val_loss[last]),
                       c.epoch_of(last), pct(fall), num(c.loss[best]), num(c.loss[last])));
            why += (why.empty() ? "" : ", and ") +
                   format("val_loss has risen {} since epoch {}", pct(rise), c.epoch_of(best));
        }
    }
    if (f.evidence.empty()) return std::nullopt;
    f.summary = why;
    f.next_steps = {c.regularized ? "regularize more: a higher l2, or dropout (layer = dropout "
                                    "rate=0.3) after each hidden layer"
                                  : "regularize: layer = dropout rate=0.3 after each hidden layer, "
                                    "or an L2 penalty (l2=1e-4 on dense layers)",
                    "more training data (a larger train_limit), or augmentation for images "
                    "(transform = shift width=0.1 height=0.1, flip, rotate, zoom)",
                    format("stop early: callback = early_stopping monitor=val_loss patience=5 "
                           "restore_best=true (the best epoch was {})",
                           c.epoch_of(best)),
                    "a smaller model (fewer units or layers)"};
    return f;
}

std::optional<Finding> underfitting(const Curves& c, const DiagnoseOptions& o, bool lr_high) {
    if (!std::isfinite(c.bias) || c.bias < o.underfit_bias) return std::nullopt;
    Finding f{"underfitting", format("training error {} is high", pct(c.train_error)), {}, {}};
    std::string line = format(
        "epoch {}: training error {} (avoidable bias {} over a baseline error of {})",
        c.epoch_of(c.last), pct(c.train_error), pct(c.bias, "points"), pct(o.baseline_error));
    if (std::isfinite(c.val_error)) {
        const double gap = c.val_error - c.train_error;
        line += format(", validation error {} (gap {})", pct(c.val_error), pct(gap, "points"));
        if (gap < o.overfit_gap) f.summary += " and close to the validation error";
    }
    f.evidence.push_back(line);
    const RateCut cut = rate_cut(c, o);
    if (cut.epoch)
        f.evidence.push_back(cut.evidence());
    f.next_steps = {"more capacity: more units per layer or more layers",
                    "train longer (more epochs)",
                    lr_high ? "fix the learning rate first (see above)"
                    : cut.epoch
                        ? format("a schedule cut the rate to {}: give it a floor (min_lr on "
                                 "reduce_lr_on_plateau) or more patience, so training goes on "
                                 "at a useful rate",
                                 num(cut.last))
                        : lr_change(c.last_lr(), 2.0, 3.0, "raise"),
                    "less regularization (lower dropout rate or l2), better features, or a "
                    "better-suited model; check that the inputs are scaled"};
    return f;
}

std::optional<Finding> still_falling(const Curves& c, const DiagnoseOptions& o, bool lr_high) {
    const auto& v = c.watched();
    const std::size_t last = c.last, k = std::min(o.steep_epochs, last);
    if (k == 0 || argmin(v, c.n) != last || !(v[last - k] > 0 && v[last] > 0)) return std::nullopt;
    const double rate = 1.0 - std::pow(v[last] / v[last - k], 1.0 / static_cast<double>(k));
    if (rate < o.steep_rate) return std::nullopt;
    Finding f{"lr_too_low_or_too_short", "", {}, {}};
    f.summary =
        format("{} was still falling {} per epoch at the last epoch", c.watched_name(), pct(rate));
    f.evidence.push_back(
        format("{} fell from {} at epoch {} to {} at epoch {} ({} per epoch), and epoch {} is "
               "the best so far",
               c.watched_name(), num(v[last - k]), c.epoch_of(last - k), num(v[last]),
               c.epoch_of(last), pct(rate), c.epoch_of(last)));
    f.next_steps = {
        format("train longer: train.epochs = {}, with callback = early_stopping monitor=val_loss "
               "patience=5 restore_best=true",
               2 * c.epoch_of(last))};
    if (!lr_high) f.next_steps.push_back("or " + lr_change(c.last_lr(), 2.0, 3.0, "raise"));
    return f;
}

Finding good_fit(const Curves& c, const DiagnoseOptions& o) {
    Finding f{"good_fit", "", {}, {}};
    if (!c.has_errors()) {
        f.summary = format("epoch {}: loss {}", c.epoch_of(c.last), num(c.loss[c.last]));
        if (c.has_val()) f.summary += ", val_loss " + num(c.val_loss[c.last]);
        for (const auto& [name, values] : c.unit_errors)
            f.summary += ", " + name + " " + num(values[c.last]);
        f.evidence.push_back(f.summary + ": no rule fired");
        return f;
    }
    const double variance = c.val_error - c.train_error;
    f.summary =
        format("training error {}, validation error {}", pct(c.train_error), pct(c.val_error));
    f.evidence.push_back(format("epoch {}: avoidable bias {}, variance {} (thresholds {} and {})",
                                c.epoch_of(c.last), pct(c.bias, "points"), pct(variance, "points"),
                                pct(o.underfit_bias, "points"), pct(o.overfit_gap, "points")));
    f.next_steps.push_back(c.bias >= variance ? "to improve further, reduce the larger part, "
                                                "avoidable bias: more capacity or longer training"
                                              : "to improve further, reduce the larger part, "
                                                "variance: more data or more regularization");
    return f;
}

void add_figures(Diagnosis& d, const Curves& c, std::size_t best) {
    const auto add = [&](const char* name, double value) {
        if (std::isfinite(value)) d.figures.emplace_back(name, value);
    };
    add("epoch", static_cast<double>(c.epoch_of(c.last)));
    add("loss", c.loss[c.last]);
    if (c.has_val()) add("val_loss", c.val_loss[c.last]);
    add("train_error", c.train_error);
    add("val_error", c.val_error);
    add("avoidable_bias", c.bias);
    add("variance", c.val_error - c.train_error);
    if (best < c.n) {
        add("best_epoch", static_cast<double>(d.best_epoch));
        add(c.has_val() ? "best_val_loss" : "best_loss", c.watched()[best]);
    }
    add("lr", c.last_lr());
    for (const auto& [name, values] : c.unit_errors) add(name.c_str(), values[c.last]);
}

}  // namespace

Diagnosis diagnose(const History& history, const std::string& stop_reason,
                   const DiagnoseOptions& options) {
    Diagnosis d;
    d.stop_reason = stop_reason;
    const Curves c = read_curves(history, options);
    const std::size_t best = argmin(c.watched(), c.n);
    if (best < c.n) d.best_epoch = c.epoch_of(best);
    if (c.n > 0) add_figures(d, c, best);

    if (auto diverged = divergence(c, stop_reason, options)) {
        d.findings.push_back(std::move(*diverged));
    } else if (c.n == 0) {
        d.headline = "nothing to diagnose: no completed epoch";
        d.notes.push_back("the history has no row with a training loss");
        return d;
    } else {
        const auto collapsed = collapse(c, options);
        const auto lr_high = oscillation(c, options);
        const auto over = overfitting(c, options, best);
        // A collapse explains the high training error: underfitting's remedies do not apply.
        const auto under = collapsed ? std::nullopt
                                     : underfitting(c, options, lr_high.has_value());
        if (collapsed) d.findings.push_back(*collapsed);
        const bool under_first = under && (!over || c.bias > c.val_error - c.train_error);
        if (lr_high) d.findings.push_back(*lr_high);
        if (under && under_first) d.findings.push_back(*under);
        if (over) d.findings.push_back(*over);
        if (under && !under_first) d.findings.push_back(*under);
        if (auto steep = still_falling(c, options, lr_high.has_value() || collapsed.has_value()))
            d.findings.push_back(*steep);
        if (d.findings.empty()) d.findings.push_back(good_fit(c, options));
    }

    if (c.n > 0 && !c.has_val())
        d.notes.push_back(
            "no validation data: overfitting (variance) cannot be judged; add validation = 0.1 "
            "under [data]");
    if (c.n > 0 && c.regression && !std::isfinite(c.train_error))
        d.notes.push_back(
            "a regression: underfitting (avoidable bias) is not judged, as a loss has no error "
            "rate to hold against a baseline; compare the test errors with a naive forecast's "
            "(the training mean, or a series' last value)");
    else if (c.n > 0 && !std::isfinite(c.train_error))
        d.notes.push_back("no " + options.metric +
                          " values: underfitting (bias) cannot be judged and the losses stand in "
                          "for the gap; add metric = " +
                          options.metric + " under [train]");
    if (c.n == 1)
        d.notes.push_back(
            "one epoch only: the trends (oscillation, a rising or still falling val_loss) need "
            "more epochs");
    d.headline = finding_label(d.findings.front().kind) + ": " + d.findings.front().summary;
    return d;
}

}  // namespace plexus::core
