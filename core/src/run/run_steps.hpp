// The steps of a run, shared by run.cpp (plexus train), run_outputs.cpp (the steps after
// training) and lr_find.cpp (plexus lr-find, which prepares an experiment exactly as train does).
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "plexus/core/data/pipeline.hpp"
#include "plexus/core/data/run_data.hpp"
#include "plexus/core/experiment/settings.hpp"
#include "plexus/core/registry/registry.hpp"
#include "plexus/core/run/run.hpp"
#include "plexus/core/training/model.hpp"
#include "plexus/core/training/trainer.hpp"
#include "plexus/plexus.hpp"

namespace plexus::core {

/// Every component the experiment names, made (and so validated) before any data is read.
struct Components {
    std::shared_ptr<Device> device;
    std::shared_ptr<Optimizer> optimizer;
    std::shared_ptr<Loss> loss;
    Sequential model;
    std::vector<std::shared_ptr<Metric>> metrics;
    std::vector<std::shared_ptr<Callback>> callbacks;
    Pipeline pipeline;  // built and fitted once the data is loaded
};

/// An experiment made ready to train: its settings, components, data and splits, and the
/// pipeline fitted on the training split. Never moved (subsets point into the data).
struct PreparedRun {
    PreparedRun(ExperimentSettings s, const RegistryOptions& options)
        : settings(std::move(s)), registry(options) {}
    ExperimentSettings settings;
    Registry registry;  // declared before the components it made
    std::unique_ptr<Components> components;
    std::unique_ptr<RunData> data;
    TrainTargets targets;               // what the model learns to predict (run_targets)
    std::size_t batch = 0;              // rows per step, at most the training split
    std::vector<std::string> warnings;  // the pipeline's and the data's
};

/// Reads the settings, creates every component, loads and splits the data and fits the
/// pipeline on the training split. With `skip_test` a test file is never opened and a
/// held-out test fraction, still carved so the training split stays the same, is emptied.
/// Writes nothing; throws one-line plexus::Errors.
/// With `communicator` (several ranks), a device named without its own choice among several
/// visible ones is the rank's by local rank (device_for_local_rank).
std::unique_ptr<PreparedRun> prepare_run(const Experiment& experiment,
                                         const RegistryOptions& registry, bool skip_test,
                                         const Communicator* communicator = nullptr);

/// Several ranks (run_ranks.cpp): `device` (train.device) becomes the rank's own by its local
/// rank when several devices of its component are visible (device_for_local_rank).
void pick_rank_device(const Registry& registry, Setting& device, const Communicator& ranks);

/// What the model learns to predict, with the target transform fitted on the training split.
/// Throws ConfigError naming the experiment's line when the loss or a metric does not suit
/// the data's targets, or a test/validation file's targets differ from the training data's.
TrainTargets run_targets(const PreparedRun& run);

/// trainer.build for the run's data; a model/loss shape mismatch names the experiment file.
void build_trainer(Trainer& trainer, const PreparedRun& run);

/// [model] freeze (transfer.cpp): makes the layers it lists non-trainable. Throws ParamError
/// naming the experiment's line for a bad list or a layer the model does not have.
void apply_freeze(Sequential& model, const ModelSettings& settings);
/// [model] init_from (transfer.cpp): copies the weights and state (batchnorm's running
/// statistics) of the saved model's layers into `model` (built, on `device`): those of
/// layers=, or else every layer of the same kind and shapes at the same index up to the first
/// that differs. Returns the line saying what it copied ("" without init_from). Throws
/// ConfigError naming the experiment's line and the file for a missing or damaged model, a
/// model for other inputs, a bad range, or (with layers=) layers of another kind or shape.
std::string apply_init_from(Sequential& model, Device& device, const PreparedRun& run);

/// Creates root/<name>-<local time> (-2, -3, ... when taken) and returns it.
std::filesystem::path make_run_dir(const std::filesystem::path& root, const std::string& name);

/// The device, the data's splits and shapes, the model summary and the warnings.
void print_start(std::ostream& out, const PreparedRun& run);

/// A run's full-state checkpoint, RUN_DIR/resume.safetensors (checkpoint_file.cpp): the
/// trainer's state at the end of an epoch (or, before the first, nothing trained), the folder
/// relative data paths start from, and the experiment it trains (resolved text).
struct RunCheckpoint {
    TrainCheckpoint train;
    std::filesystem::path data_dir;
    std::string experiment;
};
inline constexpr const char* kCheckpointFile = "resume.safetensors";

/// Writes `checkpoint` to `file` atomically.
void write_checkpoint(const std::filesystem::path& file, const RunCheckpoint& checkpoint);
/// Reads a checkpoint; throws DataError "FILE: what is wrong (what to do)" for a damaged one.
RunCheckpoint read_checkpoint(const std::filesystem::path& file);

/// --resume RUN_DIR (resume.cpp): the folder's checkpoint, after checking that `experiment`
/// (RUN_DIR/experiment.ini with the command's --set) is the one the run started with, but for
/// train.epochs. Throws ConfigError naming the first key that differs, DataError when the
/// folder is not a run folder or has no readable checkpoint.
RunCheckpoint resume_checkpoint(const std::filesystem::path& run_dir, const Experiment& experiment);

/// Removes the temporary files a killed writer may have left in the run folder (".NAME.tmp",
/// ".NAME.tmpPID"), so a resumed run starts from a clean folder.
void remove_stale_temporaries(const std::filesystem::path& run_dir);

/// What the steps after training read.
struct FinishedTraining {
    const Experiment& experiment;
    const Registry& registry;
    const RunData& data;
    const TrainTargets& targets;
    Trainer& trainer;
    const History& history;
};

/// Float targets: the report set's predictions in the target's units go to
/// test_predictions.csv, the regression report to metrics.json and the terminal.
void regression_outputs(const FinishedTraining& run, const Subset& report_set,
                        const char* set_name, RunResult& result, nlohmann::json& metrics,
                        std::ostream& out);

/// Saves the kept weights to model.safetensors, evaluates on the test set (and, for the
/// classification report, the validation set when there is no test set), writes
/// metrics.json and report.html, and prints the summary. Fills result.test.
void write_run_outputs(const FinishedTraining& run, RunResult& result, std::ostream& out);

/// After fit() threw: completes the run folder as write_run_outputs does (no test
/// evaluation), when the folder still exists. Never throws: the caller rethrows the failure,
/// which matters more than a second one.
void finish_failed_run(const FinishedTraining& run, RunResult& result, std::ostream& out);

}  // namespace plexus::core
