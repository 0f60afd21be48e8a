// plexus lr-find: the experiment prepared as plexus train prepares it (run_steps.hpp), one
// pass with an exponentially growing rate set by a callback, the suggestion, and the
// outputs.
#include "plexus/core/run/lr_find.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "plexus/core/reporting/svg_chart.hpp"
#include "plexus/core/training/trainer.hpp"
#include "plexus/support/files.hpp"
#include "run_steps.hpp"

namespace fs = std::filesystem;

namespace plexus::core {

double lr_find_rate(double start, double end, std::size_t steps, std::size_t i) {
    const double t = static_cast<double>(i) / static_cast<double>(steps - 1);
    return start * std::pow(end / start, t);
}

double LossSmoother::add(double loss) {
    average_ = kBeta * average_ + (1.0 - kBeta) * loss;
    beta_power_ *= kBeta;
    return average_ / (1.0 - beta_power_);
}

LrSuggestion suggest_lr(const std::vector<LrFindPoint>& points) {
    LrSuggestion s;
    std::size_t lowest = 0;
    for (std::size_t i = 1; i < points.size(); ++i)
        if (points[i].smoothed < points[lowest].smoothed) lowest = i;
    s.minimum = points[lowest].lr;
    s.minimum_loss = points[lowest].smoothed;

    const bool trim = points.size() >= 10;
    const std::size_t begin = trim ? points.size() / 10 : 0;
    const std::size_t end = trim ? points.size() - 5 : points.size();
    double steepest = std::numeric_limits<double>::infinity();
    for (std::size_t i = begin; i + 1 < end; ++i) {
        const double slope = (points[i + 1].smoothed - points[i].smoothed) /
                             (std::log(points[i + 1].lr) - std::log(points[i].lr));
        if (slope < steepest) steepest = slope, s.steepest = points[i].lr;
    }
    if (s.steepest > 0 && steepest < 0) {
        s.suggested = s.steepest;
        s.rule = "steepest descent of the smoothed loss";
    } else {  // the loss never fell: only the minimum rule is left
        s.steepest = 0;
        s.suggested = s.minimum / 10;
        s.rule = "minimum of the smoothed loss / 10";
    }
    return s;
}

namespace {

std::string rate(double lr) {
    return fmt::format("{:.2e}", lr);
}

/// Sets the rate of every batch, records each batch's loss and stops the pass at the last
/// step or once the smoothed loss diverges.
class RangeTest final : public Callback {
public:
    RangeTest(const LrFindOptions& o, std::size_t steps)
        : start_(o.start), end_(o.end), steps_(steps) {}

    void on_train_begin(TrainState& s) override { s.learning_rate = rate_of(0); }

    void on_batch_end(TrainState& s) override {
        // batch_logs holds the running mean of the pass: recover this batch's loss from it.
        const double mean = s.batch_logs.get("loss").value_or(std::nan(""));
        const double seen = static_cast<double>(s.samples_done);
        const double loss = (mean * seen - previous_sum_) / (seen - previous_seen_);
        previous_sum_ = mean * seen;
        previous_seen_ = seen;

        const std::size_t i = points.size();
        const double smoothed = smoother_.add(loss);
        points.push_back({i + 1, static_cast<double>(s.learning_rate), loss, smoothed});
        minimum_ = std::min(minimum_, smoothed);
        if (!std::isfinite(smoothed))
            stop(s,
                 fmt::format("the loss became {} at step {} (lr {})",
                             std::isnan(loss) ? "NaN" : "infinite", i + 1, rate(s.learning_rate)));
        else if (i > 0 && minimum_ > 0 && smoothed > 4 * minimum_)
            stop(s, fmt::format("stopped at step {} (lr {}): the smoothed loss {:.4g} exceeded "
                                "4 x its minimum {:.4g}",
                                i + 1, rate(s.learning_rate), smoothed, minimum_));
        else if (i + 1 == steps_)
            stop(s, fmt::format("completed {} steps up to lr {}", steps_, rate(s.learning_rate)));
        else
            s.learning_rate = rate_of(i + 1);
    }

    std::vector<LrFindPoint> points;
    std::string reason;

private:
    float rate_of(std::size_t i) const {
        return static_cast<float>(lr_find_rate(start_, end_, steps_, i));
    }
    void stop(TrainState& s, std::string why) {
        reason = std::move(why);
        s.stop_training = true;
    }

    double start_, end_;
    std::size_t steps_;
    LossSmoother smoother_;
    double minimum_ = std::numeric_limits<double>::infinity();
    double previous_sum_ = 0.0, previous_seen_ = 0.0;
};

void check_options(const LrFindOptions& o) {
    if (!std::isfinite(o.start) || !std::isfinite(o.end) || !(o.start > 0) || !(o.start < o.end))
        throw ConfigError(fmt::format(
            "lr-find: the rate must grow from --start to --end with 0 < start < end, got start "
            "{:g} and end {:g}",
            o.start, o.end));
    if (o.steps == 1)
        throw ConfigError("lr-find: --steps must be at least 2 (the test needs a range of rates)");
}

// Batches the trainer runs in one pass: it skips a trailing batch of one sample.
std::size_t batches_per_pass(std::size_t samples, std::size_t batch) {
    const std::size_t rest = samples % batch;
    return samples / batch + (rest >= 2 ? 1 : 0);
}

std::size_t resolve_steps(const LrFindOptions& o, const PreparedRun& run) {
    const std::size_t samples = run.data->train.size();
    const std::size_t batches = batches_per_pass(samples, run.batch);
    const std::string split =
        fmt::format("{} training samples in batches of {}", samples, run.batch);
    if (batches < 2)
        throw ConfigError(run.settings.file.string() + ": lr-find needs at least 2 batches, the " +
                          split + " give " + std::to_string(batches) +
                          " (lower train.batch_size or use more data)");
    if (o.steps > batches)
        throw ConfigError(fmt::format(
            "lr-find: --steps {} exceeds the {} batches of one pass over the {} (lower --steps)",
            o.steps, batches, split));
    return o.steps ? o.steps : std::min<std::size_t>(100, batches);
}

void print_table(std::ostream& out, const LrFindResult& r) {
    const auto& p = r.points;
    const std::size_t every = std::max<std::size_t>(1, (p.size() + 19) / 20);
    out << fmt::format("{:>6}  {:>10}  {:>10}  {:>10}\n", "step", "lr", "loss", "smoothed");
    for (std::size_t i = 0; i < p.size(); ++i) {
        const bool marked = p[i].lr == r.suggestion.suggested || p[i].lr == r.suggestion.minimum;
        if (i % every != 0 && i + 1 != p.size() && !marked) continue;
        out << fmt::format("{:>6}  {:>10}  {:>10.4g}  {:>10.4g}{}\n", p[i].step, rate(p[i].lr),
                           p[i].loss, p[i].smoothed,
                           p[i].lr == r.suggestion.suggested ? "  <- suggested"
                           : p[i].lr == r.suggestion.minimum ? "  <- minimum"
                                                             : "");
    }
    out << r.stop_reason << "\n"
        << "suggested learning rate: " << rate(r.suggestion.suggested) << " (" << r.suggestion.rule
        << ")\n"
        << "  minimum/10: " << rate(r.suggestion.minimum / 10) << " (smoothed loss minimum "
        << fmt::format("{:.4g}", r.suggestion.minimum_loss) << " at lr "
        << rate(r.suggestion.minimum) << ")\n";
    if (r.suggestion.steepest > 0)
        out << "  steepest descent: " << rate(r.suggestion.steepest) << "\n";
}

std::string to_csv(const std::vector<LrFindPoint>& points) {
    std::string csv = "step,lr,loss,smoothed_loss\n";
    for (const auto& p : points)
        csv += fmt::format("{},{:.9g},{:.9g},{:.9g}\n", p.step, p.lr, p.loss, p.smoothed);
    return csv;
}

std::string to_svg(const LrFindResult& r) {
    svg::LineChart chart;
    chart.y_label = "smoothed training loss";
    chart.x_label = "learning rate";
    chart.log_x = true;
    chart.standalone = true;
    chart.best_x = r.suggestion.suggested;
    chart.best_label = "suggested";
    // The last points can be many times the rest (the test stops at 4 x the minimum) and
    // would flatten the part that matters: values above 1.5 x the highest one up to the
    // minimum are left out of the plot (not out of lr_find.csv).
    double cap = 0.0;
    for (const auto& p : r.points) {
        cap = std::max(cap, p.smoothed);
        if (p.lr == r.suggestion.minimum) break;
    }
    cap = cap > 0 ? cap * 1.5 : std::numeric_limits<double>::infinity();
    svg::Series series{"smoothed loss", {}, "#1f77b4"};
    for (const auto& p : r.points) {
        chart.x.push_back(p.lr);
        series.y.push_back(p.smoothed <= cap ? p.smoothed : std::nan(""));
    }
    chart.series.push_back(std::move(series));
    return svg::line_chart(chart);
}

}  // namespace

LrFindResult lr_find(const Experiment& experiment, const LrFindOptions& options,
                     std::ostream& out) {
    check_options(options);
    const std::unique_ptr<PreparedRun> run =
        prepare_run(experiment, options.registry, /*skip_test=*/true);
    const std::size_t steps = resolve_steps(options, *run);

    // The experiment's callbacks are left out: a schedule would fight the rate, checkpoints
    // and loggers would write files. No validation: the test reads the training loss only.
    Components& c = *run->components;
    auto test = std::make_shared<RangeTest>(options, steps);
    TrainOptions train;
    train.batch_size = run->batch;
    train.epochs = 1;
    train.seed = run->settings.train.seed;
    train.prefetch = run->settings.data.prefetch;
    Trainer trainer(*c.device, c.model, *c.loss, *c.optimizer, {}, {test}, c.pipeline, train);
    build_trainer(trainer, *run);
    // The rate of a fine-tuning run is found on the model it fine-tunes.
    const std::string copied = apply_init_from(c.model, *c.device, *run);
    apply_freeze(c.model, run->settings.model);
    print_start(out, *run);
    if (!copied.empty()) out << copied << "\n";
    out << fmt::format("lr-find: {} batches of {}, lr {} -> {} (exponential)\n", steps, run->batch,
                       rate(options.start), rate(options.end))
        << std::flush;
    trainer.fit(run->data->train, Subset{});

    LrFindResult result;
    result.points = std::move(test->points);
    // Without a reason of the test's own the trainer stopped first: a loss that was not
    // finite (the trainer checks every batch), or Ctrl-C.
    result.stop_reason = test->reason.empty()
                             ? "stopped at step " + std::to_string(result.points.size() + 1) +
                                   ": " + trainer.stop_reason()
                             : test->reason;
    while (!result.points.empty() && !std::isfinite(result.points.back().smoothed))
        result.points.pop_back();
    if (result.points.size() < 2)
        throw Error(fmt::format(
            "lr-find: no range to judge, {} (try a lower --start, or check the data and model)",
            result.stop_reason));
    result.suggestion = suggest_lr(result.points);
    print_table(out, result);

    result.out_dir = options.out_dir.empty()
                         ? make_run_dir(options.runs_root, run->settings.name + "-lr-find")
                         : options.out_dir;
    support::create_parent_folder("lr-find --out", result.out_dir / "lr_find.csv");
    support::write_file_atomic(result.out_dir / "lr_find.csv", to_csv(result.points));
    support::write_file_atomic(result.out_dir / "lr_find.svg", to_svg(result));
    out << "wrote " << (result.out_dir / "lr_find.csv").string() << " and lr_find.svg\n";
    return result;
}

}  // namespace plexus::core
