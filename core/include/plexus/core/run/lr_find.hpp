// plexus lr-find: the learning-rate range test (Smith, "Cyclical Learning Rates for Training
// Neural Networks", 2015/2017; fastai's lr_find). One pass over the training split with the
// rate growing exponentially batch by batch; the smoothed loss falls, flattens, then blows
// up, and a good rate lies where it falls fastest.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "plexus/core/experiment/experiment.hpp"
#include "plexus/core/registry/registry.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

struct LrFindOptions {
    RegistryOptions registry;
    double start = 1e-7;            // the first batch's rate; requires 0 < start < end, both finite
    double end = 10.0;              // the last batch's rate
    std::size_t steps = 0;          // batches; 0: min(100, batches in one pass); at least 2
    std::filesystem::path out_dir;  // empty: a new runs_root/<name>-lr-find-<time>/
    std::filesystem::path runs_root = "runs";
};

/// The rate of batch `i` (0-based) of `steps`: start · (end/start)^(i / (steps - 1)).
/// Requires steps ≥ 2.
double lr_find_rate(double start, double end, std::size_t steps, std::size_t i);

/// The exponential moving average of the batch losses with beta = 0.98, divided by
/// 1 - beta^n so the first values are not pulled towards 0 (Adam's bias correction).
class LossSmoother {
public:
    static constexpr double kBeta = 0.98;
    /// Adds batch n's loss; returns the smoothed loss after it.
    double add(double loss);

private:
    double average_ = 0.0;
    double beta_power_ = 1.0;
};

struct LrFindPoint {
    std::size_t step = 0;  // 1-based batch
    double lr = 0.0;       // the rate the batch trained with
    double loss = 0.0;     // its loss (with the weights' penalty)
    double smoothed = 0.0;
};

struct LrSuggestion {
    double steepest = 0.0;      // rate at the steepest descent of the smoothed loss; 0: none
    double minimum = 0.0;       // rate at the minimum of the smoothed loss
    double minimum_loss = 0.0;  // that minimum
    double suggested = 0.0;     // steepest when there is one, else minimum / 10
    std::string rule;           // which, in words
};

/// Suggestions from the recorded points (at least 2, rates increasing): the steepest descent
/// is the most negative slope of the smoothed loss against log(rate), between consecutive
/// points, leaving out the first tenth of the points and the last 5 when there are at least
/// 10 (fastai: the start is still warming up the average, the end is diverging); its rate
/// is the slope's left point. The minimum/10 rule takes a tenth of the rate at the minimum.
LrSuggestion suggest_lr(const std::vector<LrFindPoint>& points);

struct LrFindResult {
    std::vector<LrFindPoint> points;
    LrSuggestion suggestion;
    std::string stop_reason;  // why the test ended
    std::filesystem::path out_dir;
};

/// Prepares the experiment as `plexus train` does (components, data, fitted pipeline), then
/// trains one pass of options.steps batches with the rate of lr_find_rate(), without the
/// experiment's callbacks (they would change the rate or write files) and without
/// validation; stops once the smoothed loss exceeds 4 × its minimum or is not finite. Prints
/// a table and the suggestion to `out`, writes lr_find.csv and lr_find.svg atomically to the
/// output folder (created only once the test succeeded). Never opens a test file nor uses a
/// held-out test fraction; saves no weights. Throws one-line plexus::Errors (bad options, fewer
/// than 2 usable batches, a loss that is not finite from the first batch on).
LrFindResult lr_find(const Experiment& experiment, const LrFindOptions& options, std::ostream& out);

}  // namespace plexus::core

#pragma GCC visibility pop
