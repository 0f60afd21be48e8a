// Reading a run's learning curves the way a practitioner does: is the model underfitting (high
// avoidable bias), overfitting (high variance), or is the learning rate wrong? Bias and
// variance follow Andrew Ng's "Machine Learning Yearning" (ch. 20-23): training error minus
// the optimal (baseline) error is the avoidable bias, validation minus training error is the
// variance. Reading the curves over epochs (oscillation, divergence, still falling, a rising
// validation loss) follows Goodfellow, Bengio & Courville, "Deep Learning", §8.3 and §11.4,
// and Keras's guide to training curves. The rules, thresholds and their reasons are in
// docs/diagnosis.md; `plexus diagnose` and the run report print the result.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "plexus/core/training/history.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// One conclusion about a run, with the numbers behind it and what to try.
struct Finding {
    /// "diverged", "collapsed", "lr_too_high", "overfitting", "underfitting",
    /// "lr_too_low_or_too_short" or "good_fit".
    std::string kind;
    std::string summary;                  // one line, no kind label
    std::vector<std::string> evidence;    // figures from the history, with their epochs
    std::vector<std::string> next_steps;  // concrete changes to the experiment file
};

/// Every threshold of the rules; the defaults were checked on the example runs
/// (docs/diagnosis.md gives each one's reasoning). Errors and gaps are fractions (0.05 = 5 %).
struct DiagnoseOptions {
    /// The main metric, a score in [0, 1] whose error is 1 - score, with its "val_" twin.
    /// When the history lacks it, the losses stand in and bias is not judged.
    std::string metric = "accuracy";
    /// A regression run (float targets): there is no error rate, so bias is not judged, and no
    /// finding or note asks for accuracy. Assumed too when the history lacks `metric` but has
    /// a regression metric (mae, mse, rmse, r2 or mape, or its "val_" twin).
    bool regression = false;
    /// Human-level or Bayes error of the task: avoidable bias = training error - baseline.
    double baseline_error = 0.0;
    /// The number of classes of a classifier; 0: unknown, then read off the curves (a loss
    /// near ln k with an accuracy near 1/k for some k >= 2).
    std::size_t classes = 0;
    /// Collapsed to chance: at the last epoch the training loss within collapse_loss of the
    /// chance level ln(classes) (a fraction of it) and the accuracy at most
    /// min(collapse_accuracy / classes, 1 / classes + 0.1).
    double collapse_loss = 0.05;
    double collapse_accuracy = 1.5;
    /// A learning-rate schedule already cut the rate when the logged lr fell below this fraction
    /// of the first epoch's.
    double lr_cut = 0.5;
    /// Underfitting: avoidable bias at the last epoch at least this.
    double underfit_bias = 0.15;
    /// Overfitting by the gap: validation error - training error at least overfit_gap and at
    /// least overfit_gap_ratio times the training error.
    double overfit_gap = 0.05;
    double overfit_gap_ratio = 0.5;
    /// Overfitting by the gap without the metric: val_loss at least this many times loss.
    double overfit_loss_ratio = 3.0;
    /// Overfitting by the trend: val_loss at the last epoch at least this fraction above its
    /// minimum, while the training loss fell at least rise_loss_fall since that epoch.
    double rise_val_loss = 0.10;
    double rise_loss_fall = 0.10;
    /// Learning rate too high: val_loss (loss without validation) changes direction at least
    /// oscillation_turns times, counting only moves of at least oscillation_step of the
    /// previous value, while the training loss fell less than oscillation_progress over the
    /// last half of the run.
    double oscillation_step = 0.03;
    std::size_t oscillation_turns = 3;
    double oscillation_progress = 0.10;
    /// Still falling steeply: the last epoch is the best so far and val_loss (loss) fell at
    /// least steep_rate per epoch (geometric mean) over the last steep_epochs epochs.
    double steep_rate = 0.02;
    std::size_t steep_epochs = 3;
    /// Diverged: the last loss is at least diverge_factor times its minimum and above the
    /// first epoch's (besides a non-finite value or a NaN/infinite stop reason).
    double diverge_factor = 2.0;
};

struct Diagnosis {
    std::vector<Finding> findings;  // most important first; empty only without any epoch
    std::string headline;           // "overfitting (high variance): ..." (one line)
    std::size_t best_epoch = 0;     // 1-based, lowest val_loss (loss without validation); 0: none
    /// The numbers the rules used, in order: "epoch", "loss", "val_loss", "train_error",
    /// "val_error", "avoidable_bias", "variance", "best_epoch", "best_val_loss", "lr", then for
    /// a regression the last epoch's "val_mae", "val_rmse" (else "mae", "rmse"), in target
    /// units (those that exist).
    std::vector<std::pair<std::string, double>> figures;
    std::vector<std::string> notes;  // what could not be judged and how to make it judgeable
    std::string stop_reason;

    /// What the terminal prints: "diagnosis:", "also:", indented evidence and "try:" lines,
    /// then "figures:" and "note:" lines.
    std::string to_text() const;
    /// {"headline", "best_epoch", "findings": [{kind, summary, evidence, next_steps}],
    ///  "figures": {name: value}, "notes", "stop_reason"}.
    nlohmann::json to_json() const;
};

/// Human-readable label of a Finding::kind: "overfitting (high variance)".
std::string finding_label(const std::string& kind);

/// Classifies a training history (Trainer::fit's, or history.csv read back). `stop_reason` is
/// Trainer::stop_reason(): a NaN/infinite loss there means divergence even with no epoch.
/// Never throws on odd histories: missing columns, NaN values or no rows give notes.
Diagnosis diagnose(const History& history, const std::string& stop_reason = {},
                   const DiagnoseOptions& options = {});

}  // namespace plexus::core

#pragma GCC visibility pop
