// The training loop: seeded shuffle per epoch, mini-batches uploaded once, forward, loss,
// backward and optimizer step on the device, per-epoch train/validation loss and metrics.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "plexus/callback.hpp"
#include "plexus/core/data/dataset.hpp"
#include "plexus/core/data/host_tensor.hpp"
#include "plexus/core/data/pipeline.hpp"
#include "plexus/core/data/targets.hpp"
#include "plexus/core/training/checkpoint.hpp"
#include "plexus/core/training/communicator.hpp"
#include "plexus/core/training/gradient_buckets.hpp"
#include "plexus/core/training/history.hpp"
#include "plexus/core/training/model.hpp"
#include "plexus/core/training/target_units.hpp"
#include "plexus/loss.hpp"
#include "plexus/metric.hpp"
#include "plexus/optimizer.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

class BatchLoader;
struct PreparedBatch;

struct TrainOptions {
    std::size_t batch_size = 32;  // rows per step; the caller caps it at the training set
    std::size_t epochs = 1;
    std::uint64_t seed = 42;
    /// Prepare the next batch on a background thread while the device computes this one.
    bool prefetch = true;
    std::string run_dir;  // passed to callbacks (checkpoints, logs); may be empty
    /// Writes the weights and the pipeline's fitted state when a callback (or the run) saves
    /// the model; the run supplies the model file format. Unset: ModelAccess::save throws.
    std::function<void(const std::string& path, const std::vector<HostTensor>& tensors)>
        write_model;
    /// The ranks training together (mpirun): each takes its share of every batch of
    /// batch_size rows and gradients are summed before each step. Null: this process alone.
    /// Must outlive the trainer.
    Communicator* communicator = nullptr;
    /// Several ranks: start summing each bucket of gradients while backward computes the
    /// layers below it (gradient_buckets.hpp); false: one blocking allreduce after backward.
    bool overlap_allreduce = true;
    /// The buckets' size (train.bucket_bytes).
    std::size_t bucket_bytes = GradientBuckets::kDefaultBucketBytes;
};

/// What the model learns to predict, for Trainer::build.
struct TrainTargets {
    TargetSource source = TargetSource::labels;
    std::size_t classes = 0;                // labels: the number of classes
    std::vector<std::size_t> class_counts;  // labels: per class in the training split
    std::size_t width = 0;                  // values: target columns (input: the features)
    TargetScaler scaler;                    // values: fitted on the training split
    bool base = false;                      // values: the data has target_base
};

class Trainer {
public:
    /// Trains through `pipeline`, built by the caller for batches of options.batch_size rows
    /// and fitted on the training split; it must outlive the trainer.
    Trainer(Device& device, Sequential& model, Loss& loss, Optimizer& optimizer,
            std::vector<std::shared_ptr<Metric>> metrics,
            std::vector<std::shared_ptr<Callback>> callbacks, Pipeline& pipeline,
            TrainOptions options);
    /// Trains on raw samples through a pipeline of its own that only gathers rows (uint8
    /// divided by 255), built by build(features, ...): for tests and data without transforms.
    Trainer(Device& device, Sequential& model, Loss& loss, Optimizer& optimizer,
            std::vector<std::shared_ptr<Metric>> metrics,
            std::vector<std::shared_ptr<Callback>> callbacks, TrainOptions options);
    ~Trainer();

    /// Allocates every device buffer for the pipeline's output features and `classes`
    /// outputs; throws ShapeError when the model's output does not match the classes. A model
    /// with one output on two classes gets 0/1 targets (binary classification); otherwise
    /// targets are one-hot rows. `class_counts` (training split) goes to the loss for class
    /// weighting.
    void build(std::size_t classes, const std::vector<std::size_t>& class_counts = {});
    /// The same for targets of any source. Float targets (values, input) need a loss whose
    /// target_kind() is values and a model output of `width` values per sample (ShapeError
    /// otherwise); metrics then see them in the target's units (the scaler inverted).
    void build(const TrainTargets& targets);
    void build(std::size_t features, const TrainTargets& targets);
    /// The same for `features` inputs: builds the trainer's own pipeline, or checks that the
    /// given one produces `features` values per sample (ShapeError otherwise).
    void build(std::size_t features, std::size_t classes,
               const std::vector<std::size_t>& class_counts = {});

    /// Trains on `train`, evaluating on `validation` (may be empty) after every epoch.
    /// Calls `on_epoch` after each epoch, once every callback has seen it, with the history so
    /// far (to save it, and checkpoint()). Stops early when a callback asks, on Ctrl-C or
    /// SIGTERM, or when the loss is not finite (stop_reason and ended say why). After
    /// resume_from(), continues from the checkpoint's epoch as if it had never stopped. An
    /// exception leaves ended() "failed", stop_reason() its message and history() the epochs
    /// done, and is rethrown.
    History fit(const Subset& train, const Subset& validation,
                const std::function<void(const History&)>& on_epoch = {});

    /// The state at the end of the last epoch fit() completed, for a full-state checkpoint:
    /// weights, optimizer state, counters, best epoch, history, layers' and callbacks' saved
    /// state. Call it from fit()'s on_epoch. Copies from the device; never inside a step.
    TrainCheckpoint checkpoint();
    /// Makes the next fit() continue from `checkpoint` (taken by checkpoint() of a trainer
    /// built for the same experiment and data). Requires build(). Throws DataError naming
    /// what does not match this model (tensor names or shapes, layer or callback counts).
    void resume_from(TrainCheckpoint checkpoint);
    /// The history columns fit() logs (epoch, loss, metrics, val_..., lr, seconds); no rows.
    History empty_history(bool validation) const;
    /// The epochs fit() logged so far, also after it threw.
    const History& history() const { return history_; }

    /// Mean loss (plus the weights' penalty) and metrics over a whole subset, in infer mode.
    /// `extra` metrics (e.g. a confusion matrix for the final report) are built, reset and
    /// updated in the same pass; their values are not added to the returned logs.
    Logs evaluate(const Subset& data, const std::vector<std::shared_ptr<Metric>>& extra = {});

    /// Float targets: the model's predictions over `data` (infer mode) and the true targets,
    /// both in the target's units (scaler inverted, relative bases added back), sample after
    /// sample in data's order: data.size() × target columns each.
    void predict_values(const Subset& data, std::vector<float>& truth,
                        std::vector<float>& predicted);

    const std::string& stop_reason() const { return stop_reason_; }
    /// How fit() ended: "completed", "stopped" (a callback: early stopping, ...), "diverged"
    /// (the loss or a logged value became NaN or infinite), "interrupted" (Ctrl-C),
    /// "terminated" (SIGTERM) or "failed" (an exception).
    const std::string& ended() const { return ended_; }
    /// Set when fit() ended on weights other than the last epoch's best: which epoch it kept.
    const std::string& restored_note() const { return restored_note_; }
    /// The epoch (1-based) whose weights fit() kept by its own criterion, and that criterion
    /// ("val_loss", else "loss"); 0 before fit().
    std::size_t best_epoch() const { return best_epoch_; }
    const std::string& best_key() const { return best_key_; }
    /// Weights access shared with callbacks (snapshot, restore, save).
    ModelAccess& weights();
    /// weights().save() in two halves, so the model file can be encoded and written on another
    /// thread while this one goes on with the device: what it writes, taken from the device
    /// here, and the writing, which touches no device (any thread, one call at a time).
    std::vector<HostTensor> model_tensors();
    void write_model(const std::string& path, const std::vector<HostTensor>& tensors);
    /// The run folder callbacks see (set once it exists, before fit()).
    void set_run_dir(const std::string& dir) { options_.run_dir = dir; }
    /// Training samples per second over the whole fit (excluding validation).
    double samples_per_second() const { return samples_per_second_; }
    double seconds_per_epoch() const { return seconds_per_epoch_; }
    /// Several ranks: what the gradient allreduce took over the whole fit (the gradients'
    /// way to the host and back included, and the wait for the slowest rank), its bytes per
    /// step and the steps; zeros alone.
    /// Overlapped: seconds counts the training thread's own work on the sums (downloads and
    /// starts between layers, the final wait, uploads), wait_seconds the final wait alone;
    /// buckets: per step; started_in_backward: of them, those started with a layer's backward
    /// still to run.
    struct ReduceCost {
        double seconds = 0.0, train_seconds = 0.0;  // train_seconds: every epoch's steps
        double wait_seconds = 0.0;
        std::size_t bytes_per_step = 0, steps = 0, buckets = 0, started_in_backward = 0;
        bool overlapped = false;
    };
    const ReduceCost& reduce_cost() const { return reduce_cost_; }

private:
    class Weights;
    /// The weights of the best epoch so far by `key`, kept by the trainer itself, so a
    /// diverging run (NaN loss) ends with what it had learned, not with garbage.
    struct Best {
        const char* key = "loss";
        std::vector<float> weights;
        double value = 0.0;      // set to +infinity when training begins
        std::size_t epoch = 0;  // 1-based; 0: none yet
    };
    struct EpochSums;
    void begin_training(const Subset& train, TrainState& state);
    /// The training order of `epoch`: the previous epoch's order shuffled by a generator
    /// seeded from (seed, epoch), so it is a function of (seed, epoch) alone.
    void shuffle_for_epoch(std::size_t epoch);
    /// Applies resume_from()'s checkpoint once the callbacks began; returns the first epoch
    /// to train.
    std::size_t apply_resume();
    /// Sets the stop reason of Ctrl-C or SIGTERM; `during`: in the middle of state_.epoch.
    void stop_for_signal(bool during);
    /// One pass over `order` in train mode; seen = 0 when the epoch is not to be reported.
    EpochSums train_epoch(const Subset& order, TrainState& state, Best& best);
    void end_epoch(const EpochSums& sums, double seconds, const Subset& validation,
                   TrainState& state, History& history, Best& best);
    void keep_best(const Best& best, std::size_t epochs_logged);
    void finish_training();
    void upload(const PreparedBatch& batch);
    // Data parallelism (trainer_parallel.cpp); each is a no-op for a process alone.
    bool parallel() const { return options_.communicator && options_.communicator->size() > 1; }
    /// Sizes the gradient buffer and this rank's batch loader, once, in build().
    void build_parallel(std::size_t target_cols);
    /// This rank's rows of every batch of `order`, in order: the batch loader's pass.
    const Subset& rank_order(const Subset& order);
    /// Rank `rank`'s rows of a batch of `rows` rows (this rank's by default).
    std::size_t shard_rows(std::size_t rows) const;
    std::size_t shard_rows(std::size_t rows, std::size_t rank) const;
    /// The training metrics over the whole batch of `rows` rows: every rank's outputs and
    /// targets (y, t: this rank's `mine` rows) gathered on every rank, so every rank's
    /// metrics, and the callbacks reading them, see what one process would.
    void update_train_metrics(const Tensor& y, const Tensor& t, const float* base,
                              std::size_t mine, std::size_t rows);
    /// Rank 0's weights on every rank, before the first step (initialisation is per rank).
    void share_weights();
    /// Backward on this rank's share, and the sum of every trainable gradient, each rank's
    /// weighted by its share of the `rows` rows, and the loss in the same buffer: overlapped
    /// with backward or after it (overlap_allreduce). Returns the batch's mean loss over all
    /// ranks. Alone: backward, and the loss as it is.
    float backward_and_reduce(const Tensor& x, const Tensor& dy, float loss, std::size_t mine,
                              std::size_t rows);
    /// Whether any rank stops (a callback or a signal): every rank must take the same
    /// number of steps. Sets state's stop and `interrupted` when another rank stopped.
    void agree_to_stop(TrainState& state, bool& interrupted);
    BatchLoader& step_loader() { return shard_loader_ ? *shard_loader_ : *loader_; }
    /// Updates `metrics` with y and t, in the target's units.
    void update_metrics(const std::vector<std::shared_ptr<Metric>>& metrics, const Tensor& y,
                        const Tensor& t, const float* base);
    /// The l1/l2 penalty of every regularised parameter; with add_gradients, also adds its
    /// gradient to the parameters' gradients.
    double regularize(bool add_gradients);

    Device& device_;
    Sequential& model_;
    Loss& loss_;
    Optimizer& optimizer_;
    std::vector<std::shared_ptr<Metric>> metrics_;
    std::vector<std::shared_ptr<Callback>> callbacks_;
    TrainOptions options_;

    std::size_t features_ = 0, classes_ = 0, target_cols_ = 0;
    TrainTargets targets_;
    TargetUnits units_;
    std::unique_ptr<Weights> weights_;
    struct Regularized {
        Parameter* param;
        Tensor work;  // same shape as the parameter
    };
    std::vector<Regularized> regularized_;
    Tensor penalty_sums_;
    std::vector<float> penalty_host_;
    std::unique_ptr<Pipeline> own_pipeline_;  // the second constructor's
    Pipeline* pipeline_ = nullptr;
    std::unique_ptr<BatchLoader> loader_;
    std::unique_ptr<BatchLoader> shard_loader_;  // several ranks: batches of this rank's share
    Subset rank_order_;
    std::unique_ptr<GradientBuckets> buckets_;  // several ranks: the fused gradient buffer
    // Several ranks' training metrics: this rank's rows of y, t (and base), all ranks' rows,
    // the same rearranged into y, t and base blocks, and the whole batch on the device.
    std::vector<float> gather_mine_, gather_all_, gathered_;
    std::vector<std::size_t> gather_counts_;
    Tensor all_y_, all_t_;
    ReduceCost reduce_cost_;
    Tensor x_, t_;
    std::string stop_reason_, restored_note_, best_key_, ended_;
    std::size_t best_epoch_ = 0;
    // What fit() works on, members so that checkpoint() can read them between epochs.
    TrainState state_;
    Best best_;
    Subset order_;
    History history_;
    std::unique_ptr<TrainCheckpoint> resume_;
    double samples_per_second_ = 0.0, seconds_per_epoch_ = 0.0;
};

}  // namespace plexus::core

#pragma GCC visibility pop
