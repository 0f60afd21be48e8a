// plexus train, step by step: the experiment's settings and components, the data and its
// splits, the pipeline fitted on the training split, the trainer, the run folder, training,
// then the outputs (run_outputs.cpp).
#include "plexus/core/run/run.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <csignal>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>

#include "plexus/core/data/pipeline.hpp"
#include "plexus/core/data/run_data.hpp"
#include "plexus/core/experiment/settings.hpp"
#include "plexus/core/modelfile/model_card.hpp"
#include "plexus/core/modelfile/safetensors.hpp"
#include "plexus/core/training/inference.hpp"
#include "plexus/core/training/interrupt.hpp"
#include "plexus/core/training/layer_optimizers.hpp"
#include "plexus/core/training/metric_names.hpp"
#include "plexus/core/training/trainer.hpp"
#include "plexus/plexus.hpp"
#include "plexus/support/files.hpp"
#include "plexus/support/text.hpp"
#include "run_steps.hpp"

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

void check_run_name(const ExperimentSettings& settings) {
    const std::string& name = settings.name;
    if (name.empty() || name == "." || name == ".." ||
        name.find_first_of("/\\\"") != std::string::npos ||
        !nlohmann::json::accept("\"" + name + "\""))
        throw ConfigError(settings.file.string() + ": experiment name '" + name +
                          "' cannot name a run folder (use letters, digits, '-', '_' or '.')");
}

template <class T>
std::shared_ptr<T> create(const Registry& registry, const Setting& setting) {
    return registry.create_as<T>(parse_component_spec(setting.value, setting.where));
}

/// The experiment's metrics; a regression loss with no metric given gets mae and rmse instead
/// of the table's default, accuracy.
std::vector<Setting> default_metrics(ExperimentSettings& s, const Loss& loss) {
    auto& metrics = s.train.metrics;
    if (loss.target_kind() == TargetKind::values && metrics.size() == 1 &&
        metrics[0].where == "train.metric")
        metrics = {{"mae", "train.metric"}, {"rmse", "train.metric"}};
    return metrics;
}

/// `optimizer`, or, with train.layer_optimizer lines ("LAYERS: name key=value ..."), the
/// parameter groups built around it.
std::shared_ptr<Optimizer> with_layer_optimizers(const Registry& registry,
                                                 const ExperimentSettings& s,
                                                 std::shared_ptr<Optimizer> optimizer,
                                                 const Sequential& model) {
    if (s.train.layer_optimizers.empty()) return optimizer;
    std::vector<LayerOptimizers::Group> groups;
    for (const Setting& line : s.train.layer_optimizers) {
        LayerOptimizers::Group g;
        g.who = at(line) + "layer_optimizer";
        const auto colon = line.value.find(':');
        if (colon == std::string::npos)
            throw ConfigError(g.who + ": " + support::quote_for_message(line.value) +
                              " names no layers (write LAYERS: OPTIMIZER, e.g. "
                              "layer_optimizer = 0-1: sgd lr=0.05 momentum=0.9)");
        g.layers_text = support::trim(std::string_view(line.value).substr(0, colon));
        g.layers = support::parse_index_ranges(g.layers_text, g.who);
        g.optimizer = registry.create_as<Optimizer>(
            parse_component_spec(std::string_view(line.value).substr(colon + 1), line.where));
        groups.push_back(std::move(g));
    }
    LayerOptimizers::check_groups(groups, model.size());
    return std::make_shared<LayerOptimizers>(std::move(optimizer), std::move(groups), model);
}

std::unique_ptr<Components> create_components(const Registry& registry, ExperimentSettings& s) {
    auto c = std::make_unique<Components>();
    c->device = create<Device>(registry, s.train.device);
    c->optimizer = create<Optimizer>(registry, s.train.optimizer);
    c->loss = create<Loss>(registry, s.model.loss);
    for (const auto& layer : s.model.layers) {
        const ComponentSpec cs = parse_component_spec(layer.value, layer.where);
        c->model.add(registry.create_as<Layer>(cs), cs.name);
    }
    if (c->model.size() == 0)
        throw ConfigError(s.file.string() +
                          ": [model] has no layers (add 'layer = dense units=10')");
    c->optimizer = with_layer_optimizers(registry, s, std::move(c->optimizer), c->model);
    std::vector<ComponentSpec> metrics;
    for (const auto& metric : default_metrics(s, *c->loss))
        metrics.push_back(parse_component_spec(metric.value, metric.where));
    c->metrics = create_named_metrics(registry, metrics);
    bool has_progress = false;
    for (const auto& callback : s.train.callbacks) {
        const ComponentSpec cs = parse_component_spec(callback.value, callback.where);
        has_progress |= cs.name == "progress";
        c->callbacks.push_back(registry.create_as<Callback>(cs));
    }
    if (s.train.verbose > 0 && !has_progress)
        c->callbacks.push_back(
            registry.create_as<Callback>(parse_component_spec("progress", "default")));
    for (const auto& transform : s.data.transforms)
        c->pipeline.add(create<Transform>(registry, transform), transform.value);
    return c;
}

/// Builds the pipeline for the training samples and batches of `batch` rows, and fits it on
/// the training split only: validation and test statistics never leak in. Returns its
/// warnings.
std::vector<std::string> prepare_pipeline(Pipeline& pipeline, const RunData& data,
                                          std::size_t batch, const ExperimentSettings& s) {
    try {
        pipeline.build(data.train_data.sample_shape, batch, s.data.divide, s.train.seed);
    } catch (const Error& e) {
        throw ConfigError(s.file.string() + ": " + e.what());
    }
    return pipeline.fit(data.train_data, data.train.indices);
}

ModelCard model_card(const ExperimentSettings& s, const RunData& data, const Pipeline& pipeline,
                     const TrainTargets& targets) {
    ModelCard card;
    card.experiment = s.name;
    for (const auto& layer : s.model.layers) card.layers.push_back(layer.value);
    card.loss = s.model.loss.value;
    card.transforms = pipeline.specs();
    card.input_shape = data.train_data.sample_shape;
    card.divide = s.data.divide;
    card.classes = data.classes;
    card.class_names = data.train_data.class_names;
    card.key_name = data.train_data.key_name;
    if (targets.source == TargetSource::values) {
        card.target = "values";
        card.target_names = data.train_data.target_names;
        card.target_transform = targets.scaler.name();
    } else if (targets.source == TargetSource::input) {
        card.target = "input";
    }
    if (targets.source != TargetSource::labels) {  // labels the data may hold are not targets
        card.classes = 0;
        card.class_names.clear();
    }
    return card;
}

TrainOptions train_options(const ExperimentSettings& s, std::size_t batch, const ModelCard& card,
                           Communicator* communicator) {
    TrainOptions options;
    options.communicator = communicator;
    options.batch_size = batch;
    options.epochs = s.train.epochs;
    options.seed = s.train.seed;
    options.prefetch = s.data.prefetch;
    options.overlap_allreduce = s.train.overlap_allreduce;
    options.bucket_bytes = s.train.bucket_bytes;
    options.write_model = [metadata = card.to_metadata()](const std::string& path,
                                                          const std::vector<HostTensor>& tensors) {
        write_safetensors(path, tensors, metadata);
    };
    return options;
}

/// Trains, writing the checkpoint (when `start` is given) and history.csv after every epoch.
/// The epoch's state is taken on this thread; encoding and writing it (atomically, as every
/// output) go on a helper thread while the next epoch trains, and each epoch waits for the
/// previous epoch's files first, so they are written in order and a write error (a full disk)
/// still ends the run, one epoch later. The last epoch's files are still being written when
/// this returns, in `files`: the caller joins it once the run's outputs are written (the
/// checkpoint's write and fsync, 40 ms for model (a), overlap the test evaluation and the
/// report). A failure before the first epoch ended (e.g. a callback monitoring a value that
/// is never logged) leaves nothing worth keeping: a new run folder goes; after that the saved
/// epochs stay.
History fit_logging_history(Trainer& trainer, const RunData& data, const fs::path& run_dir,
                            bool keep_folder, const RunCheckpoint* start, bool writes,
                            std::optional<Background>& files) {
    std::size_t epochs_saved = 0;
    try {
        History history = trainer.fit(data.train, data.validation, [&](const History& h) {
            if (!writes) return;
            if (files) files->join();
            std::optional<RunCheckpoint> checkpoint;
            if (start) checkpoint = RunCheckpoint{trainer.checkpoint(), start->data_dir,
                                                  start->experiment};
            files.emplace([&run_dir, checkpoint = std::move(checkpoint), csv = h.to_csv()] {
                // The checkpoint first: resuming rewrites history.csv from it.
                if (checkpoint) write_checkpoint(run_dir / kCheckpointFile, *checkpoint);
                support::write_file_atomic(run_dir / "history.csv", csv);
            });
            epochs_saved = h.rows.size();
        });
        return history;
    } catch (...) {
        if (files) {
            try {
                files->join();  // the error training ended with is the one to report
            } catch (...) {
            }
        }
        if (epochs_saved == 0 && !keep_folder && writes) {
            std::error_code ec;
            fs::remove_all(run_dir, ec);
        }
        throw;
    }
}

fs::path exact_run_dir(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir))
        throw Error(dir.string() + ": cannot create the run folder" +
                    (ec ? ": " + ec.message() : ": a file is in the way"));
    return dir;
}

/// A study trial never opens its test file; a held-out fraction stays in the split (the
/// training rows must not change) and is emptied once split.
void drop_test_file(DataSettings& data) {
    if (data.test && data.test->value.find(':') != std::string::npos) data.test.reset();
}

}  // namespace

std::unique_ptr<PreparedRun> prepare_run(const Experiment& exp, const RegistryOptions& registry,
                                         bool skip_test, const Communicator* communicator) {
    // Everything that can be wrong with the experiment is checked before any output.
    ExperimentSettings settings = read_settings(exp);
    if (skip_test) drop_test_file(settings.data);
    auto run = std::make_unique<PreparedRun>(std::move(settings), registry);
    check_run_name(run->settings);
    if (communicator) pick_rank_device(run->registry, run->settings.train.device, *communicator);
    // Data and splits (a seeded shuffle before every split, never "the last rows") and the
    // pipeline fitted on the training split. Batch gradient descent is batch_size = full; a
    // batch never exceeds the training set.
    // The data is read (and inflated) on a helper thread while this one loads the components'
    // plugins (the device with OpenBLAS and oneDNN: 0.1 s or more): the two overlap on two
    // cores. Errors keep their order: a component's is thrown first (after the helper ends),
    // then the data's. The helper reads only settings.data, which nothing here changes.
    std::unique_ptr<RunData> loaded;
    Background reading([&run, &loaded] { loaded = load_run_data(run->settings.data); });
    run->components = create_components(run->registry, run->settings);
    reading.join();
    run->data = std::move(loaded);
    RunData& data = *run->data;
    if (skip_test) data.test.indices.clear();
    run->batch = run->settings.train.batch_size == 0
                     ? data.train.size()
                     : std::min(run->settings.train.batch_size, data.train.size());
    run->targets = run_targets(*run);
    run->warnings = prepare_pipeline(run->components->pipeline, data, run->batch, run->settings);
    run->warnings.insert(run->warnings.end(), data.warnings.begin(), data.warnings.end());
    return run;
}

void build_trainer(Trainer& trainer, const PreparedRun& run) {
    try {
        trainer.build(run.targets);
    } catch (const Error& e) {  // model and loss shapes: name the experiment they came from
        throw ConfigError(run.settings.file.string() + ": " + e.what());
    }
}

fs::path make_run_dir(const fs::path& root, const std::string& name) {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    const std::string stamp = fmt::format("{:%Y%m%d-%H%M%S}", tm);
    std::error_code ec;
    fs::create_directories(root, ec);
    for (int i = 1; i < 1000; ++i) {
        fs::path dir = root / (name + "-" + stamp + (i > 1 ? "-" + std::to_string(i) : ""));
        if (fs::create_directory(dir, ec)) return dir;
        if (ec) throw Error(dir.string() + ": cannot create the run folder: " + ec.message());
    }
    throw Error(root.string() + ": cannot find a free run folder name");
}

namespace {

std::string targets_text(const PreparedRun& run) {
    const Dataset& train = run.data->train_data;
    switch (run.targets.source) {
        case TargetSource::values: {
            std::string names;
            for (const auto& n : train.target_names) names += (names.empty() ? "" : ", ") + n;
            return fmt::format("{} float target{} ({}{}{})", train.target_width,
                               train.target_width == 1 ? "" : "s", names,
                               run.targets.scaler.is_identity() ? "" : ", ",
                               run.targets.scaler.is_identity() ? "" : run.targets.scaler.name());
        }
        case TargetSource::input: return "target = input";
        case TargetSource::labels: break;
    }
    return fmt::format("{} classes", run.data->classes);
}

/// Ctrl-C or SIGTERM before training began (while the data loaded): nothing was trained, so no
/// run folder is written.
RunResult& stopped_before_training(RunResult& result, std::ostream& out) {
    const bool term = interrupt_signal() == SIGTERM;
    result.ended = term ? "terminated" : "interrupted";
    result.stop_reason = std::string(term ? "terminated (SIGTERM)" : "interrupted (Ctrl-C)") +
                         " before training began; no run folder was written";
    out << "stopped: " << result.stop_reason << "\n";
    return result;
}

}  // namespace

void print_start(std::ostream& out, const PreparedRun& run) {
    const Components& c = *run.components;
    const RunData& data = *run.data;
    out << "plexus " PLEXUS_VERSION_STRING " | " << c.device->description() << "\n"
        << "data: " << data.train.size() << " train, " << data.validation.size() << " validation, "
        << data.test.size() << " test samples; " << targets_text(run) << "; samples "
        << data.train_data.sample_shape.str();
    if (c.pipeline.size())
        out << " -> " << c.pipeline.output_shape().str() << " after " << c.pipeline.size()
            << " transform(s)";
    out << "\n" << c.model.summary();
    for (const auto& w : run.warnings) out << w << "\n";
    out << std::flush;
}

RunResult run_experiment(const Experiment& exp, const RunOptions& options, std::ostream& out) {
    // 0. --resume: the checkpoint, for the same experiment; data paths start where they did.
    std::optional<RunCheckpoint> resumed;
    Experiment effective = exp;
    if (options.resume) {
        resumed = resume_checkpoint(options.run_dir, exp);
        effective.set("experiment.base_dir", resumed->data_dir.string(), "--resume");
    }
    // 1. Components, data and the fitted pipeline, every check done before any output.
    Communicator* ranks = options.communicator;
    const bool writes = !ranks || ranks->rank() == 0;  // rank 0 alone writes the run folder
    const std::unique_ptr<PreparedRun> run =
        prepare_run(effective, options.registry, options.skip_test, ranks);
    const ExperimentSettings& settings = run->settings;
    Components& c = *run->components;
    c.callbacks.insert(c.callbacks.end(), options.callbacks.begin(), options.callbacks.end());

    // 2. The trainer, built for the data.
    const ModelCard card = model_card(settings, *run->data, c.pipeline, run->targets);
    Trainer trainer(*c.device, c.model, *c.loss, *c.optimizer, c.metrics, c.callbacks, c.pipeline,
                    train_options(settings, run->batch, card, ranks));
    build_trainer(trainer, *run);
    const std::size_t resumed_epochs = resumed ? resumed->train.epochs_done : 0;
    // A resumed run that trained an epoch restores its own weights: copying again would
    // overwrite them only for the checkpoint to overwrite the copy.
    const std::string copied = resumed_epochs ? "" : apply_init_from(c.model, *c.device, *run);
    apply_freeze(c.model, settings.model);
    const History initial = resumed_epochs ? resumed->train.history
                                           : trainer.empty_history(run->data->validation.size() > 0);
    if (resumed) {
        try {
            trainer.resume_from(std::move(resumed->train));
        } catch (const Error& e) {
            throw DataError((options.run_dir / kCheckpointFile).string() + ": " + e.what() +
                            " (was the data changed since the run started?)");
        }
    }
    RunResult result;
    if (interrupt_requested()) return stopped_before_training(result, out);

    // 3. The run folder, training, and the outputs. Every file is written atomically. Several
    // ranks: every rank has its data and model before rank 0 makes the folder (a rank that
    // failed ended them all here), and learns its name from rank 0.
    if (ranks) {
        double ready = 1.0;
        ranks->allreduce_sum(std::span<double>(&ready, 1));
    }
    if (writes)
        result.run_dir = options.run_dir.empty() ? make_run_dir(options.out_dir, settings.name)
                                                 : exact_run_dir(options.run_dir);
    if (ranks) {
        std::string dir = result.run_dir.string();
        ranks->broadcast(dir);
        result.run_dir = dir;
    }
    trainer.set_run_dir(result.run_dir.string());
    // An experiment named without a folder ("plexus train exp.ini") has an empty base_dir: the
    // current directory, which a resume from elsewhere must still find.
    const fs::path data_dir = settings.data.base_dir.empty() ? fs::current_path()
                                                             : fs::absolute(settings.data.base_dir);
    const RunCheckpoint start{{}, data_dir, exp.resolved_text()};
    if (writes) {
        if (options.resume) remove_stale_temporaries(result.run_dir);
        support::write_file_atomic(result.run_dir / "experiment.ini", exp.resolved_text());
        // Right away, so a run killed before its first epoch ended can be resumed too.
        if (options.checkpoints && !options.resume)
            write_checkpoint(result.run_dir / kCheckpointFile, start);
        // A run stopped in its first epoch still has a history diagnose and report can read.
        support::write_file_atomic(result.run_dir / "history.csv", initial.to_csv());
    }
    print_start(out, *run);
    if (ranks && ranks->size() > 1)
        out << "data parallel: " << ranks->size() << " ranks, " << run->batch
            << " rows per step shared between them\n";
    if (!copied.empty()) out << copied << "\n";
    if (resumed_epochs)
        out << "resuming after epoch " << resumed_epochs << " of " << result.run_dir.string()
            << "\n";
    History history;
    std::optional<Background> last_files;  // the last epoch's, joined after the outputs
    try {
        history = fit_logging_history(trainer, *run->data, result.run_dir,
                                      !options.run_dir.empty(),
                                      options.checkpoints ? &start : nullptr, writes, last_files);
    } catch (...) {
        if (writes)
            finish_failed_run({exp, run->registry, *run->data, run->targets, trainer,
                               trainer.history()},
                              result, out);
        throw;
    }
    if (const auto& cost = trainer.reduce_cost(); cost.steps)
        out << fmt::format(
            "data parallel: allreduce of {:.3g} MB per step, {:.3f} ms per step ({:.1f} % of "
            "training time), {}\n",
            cost.bytes_per_step / 1e6, 1e3 * cost.seconds / cost.steps,
            100.0 * cost.seconds / std::max(1e-9, cost.train_seconds),
            cost.overlapped
                ? fmt::format("overlapped with backward: {} bucket(s), {} started in backward, "
                              "{:.3f} ms per step in the final wait",
                              cost.buckets, cost.started_in_backward,
                              1e3 * cost.wait_seconds / cost.steps)
                : fmt::format("after backward ({:.3f} ms per step in the allreduce)",
                              1e3 * cost.wait_seconds / cost.steps));
    if (!writes) {  // the test evaluation and the report are rank 0's
        result.ended = trainer.ended();
        result.stop_reason = trainer.stop_reason();
        return result;
    }
    write_run_outputs({exp, run->registry, *run->data, run->targets, trainer, history}, result,
                      out);
    if (last_files) last_files->join();  // a write error ends the run here
    return result;
}

}  // namespace plexus::core
