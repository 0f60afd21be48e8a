// The trainer's construction and build(): device buffers for the pipeline's features and the
// targets, checked against the model's output and the loss, and the weights access callbacks
// get.
#include <algorithm>
#include <functional>
#include <span>

#include "plexus/core/data/batch_loader.hpp"
#include "plexus/core/training/metric_names.hpp"
#include "plexus/core/training/trainer.hpp"
#include "plexus/error.hpp"

namespace plexus::core {

/// Weights on the host for callbacks and NaN recovery; never used inside a step.
class Trainer::Weights final : public ModelAccess {
public:
    using WriteModel = std::function<void(const std::string&, const std::vector<HostTensor>&)>;
    Weights(Device& device, Sequential& model, const Pipeline& pipeline,
            const TargetScaler& scaler, WriteModel write_model)
        : device_(device),
          model_(model),
          pipeline_(pipeline),
          scaler_(scaler),
          write_model_(std::move(write_model)) {}

    void snapshot(std::vector<float>& out) override {
        std::size_t total = 0;
        for (const auto& w : model_.weights()) total += w.value.numel();
        out.resize(total);
        std::size_t at = 0;
        for (const auto& w : model_.weights()) {
            device_.download(w.value, std::span<float>(out.data() + at, w.value.numel()));
            at += w.value.numel();
        }
    }

    void restore(const std::vector<float>& in) override {
        std::size_t at = 0;
        for (const auto& w : model_.weights()) {
            if (at + w.value.numel() > in.size())
                throw Error("restore: the snapshot does not match this model's weights");
            device_.upload(w.value, std::span<const float>(in.data() + at, w.value.numel()));
            at += w.value.numel();
        }
    }

    void save(const std::string& path) override { write(path, tensors()); }

    /// What save() writes (weights, the pipeline's fitted state, the target scaler's), taken
    /// from the device on this thread.
    std::vector<HostTensor> tensors() {
        std::vector<HostTensor> tensors;
        for (const auto& w : model_.weights()) {
            HostTensor t{w.name, w.value.shape(), std::vector<float>(w.value.numel())};
            device_.download(w.value, t.values);
            tensors.push_back(std::move(t));
        }
        // Fitted transforms travel with the weights: predict prepares data as training did.
        for (auto& t : pipeline_.state()) tensors.push_back(std::move(t));
        // So does the target transform: predictions are reported in the target's units.
        if (!scaler_.is_identity())
            for (auto& t : scaler_.state()) tensors.push_back(std::move(t));
        return tensors;
    }

    /// save()'s second half: encodes and writes `tensors`; touches no device, so any thread.
    void write(const std::string& path, const std::vector<HostTensor>& tensors) const {
        if (!write_model_) throw Error("save: this trainer was given no way to write a model file");
        write_model_(path, tensors);
    }

    std::size_t layer_count() const override { return model_.size(); }
    void set_trainable(std::size_t layer, bool trainable) override {
        model_.set_trainable(layer, trainable);
    }

private:
    Device& device_;
    Sequential& model_;
    const Pipeline& pipeline_;
    const TargetScaler& scaler_;
    WriteModel write_model_;
};

Trainer::Trainer(Device& device, Sequential& model, Loss& loss, Optimizer& optimizer,
                 std::vector<std::shared_ptr<Metric>> metrics,
                 std::vector<std::shared_ptr<Callback>> callbacks, Pipeline& pipeline,
                 TrainOptions options)
    : Trainer(device, model, loss, optimizer, std::move(metrics), std::move(callbacks),
              std::move(options)) {
    pipeline_ = &pipeline;
}

Trainer::Trainer(Device& device, Sequential& model, Loss& loss, Optimizer& optimizer,
                 std::vector<std::shared_ptr<Metric>> metrics,
                 std::vector<std::shared_ptr<Callback>> callbacks, TrainOptions options)
    : device_(device),
      model_(model),
      loss_(loss),
      optimizer_(optimizer),
      metrics_(std::move(metrics)),
      callbacks_(std::move(callbacks)),
      options_(std::move(options)) {}

Trainer::~Trainer() = default;

ModelAccess& Trainer::weights() {
    return *weights_;
}

std::vector<HostTensor> Trainer::model_tensors() {
    return weights_->tensors();
}

void Trainer::write_model(const std::string& path, const std::vector<HostTensor>& tensors) {
    weights_->write(path, tensors);
}

void Trainer::build(std::size_t features, std::size_t classes,
                    const std::vector<std::size_t>& class_counts) {
    TrainTargets targets;
    targets.classes = classes;
    targets.class_counts = class_counts;
    build(features, targets);
}

void Trainer::build(std::size_t features, const TrainTargets& targets) {
    if (!pipeline_) {
        own_pipeline_ = std::make_unique<Pipeline>();
        own_pipeline_->build(Shape{features}, options_.batch_size, 255.0f, options_.seed);
        pipeline_ = own_pipeline_.get();
    }
    if (pipeline_->output_features() != features)
        throw ShapeError("the data pipeline gives " + std::to_string(pipeline_->output_features()) +
                         " features per sample, the model was built for " +
                         std::to_string(features));
    build(targets);
}

void Trainer::build(std::size_t classes, const std::vector<std::size_t>& class_counts) {
    TrainTargets targets;
    targets.classes = classes;
    targets.class_counts = class_counts;
    build(targets);
}

void Trainer::build(const TrainTargets& targets) {
    if (!pipeline_)
        throw Error("Trainer::build: a trainer without a pipeline needs the feature count");
    targets_ = targets;
    features_ = pipeline_->output_features();
    classes_ = targets.source == TargetSource::labels ? targets.classes : 0;
    const std::size_t b = options_.batch_size;
    // Layers see samples in their shape ([H, W] images stay images for a convolution).
    const Shape input = batch_of(b, pipeline_->output_shape());
    // Dropout masks and other random streams differ per rank (rank 0's are a lone process's);
    // the initial weights are rank 0's for every rank (share_weights).
    const std::uint64_t rank = parallel() ? options_.communicator->rank() : 0;
    const Shape out = model_.build(input, device_, options_.seed + rank * 0x9E3779B97F4A7C15ULL,
                                   parallel() ? options_.communicator : nullptr);
    const std::size_t per_sample = out.rank() ? out.numel() / out[0] : 0;
    if (targets.source == TargetSource::labels) {
        const std::size_t c = targets.classes;
        const bool binary = c == 2 && out.rank() == 2 && out[1] == 1;
        if (out.rank() != 2 || (out[1] != c && !binary))
            throw ShapeError("the model's output is " + out.str() + " per batch but the data has " +
                             std::to_string(c) + " classes: make the last layer produce " +
                             std::to_string(c) + " values (e.g. dense units=" +
                             std::to_string(c) + ")");
        target_cols_ = out[1];
        if (!targets.class_counts.empty()) loss_.set_class_counts(targets.class_counts);
    } else {
        const std::size_t width =
            targets.source == TargetSource::input ? features_ : targets.width;
        if (per_sample != width)
            throw ShapeError("the model's output is " + out.str() + " per batch but the data has " +
                             std::to_string(width) +
                             (targets.source == TargetSource::input
                                  ? " input values per sample (target = input)"
                                  : " float target(s) per sample") +
                             ": make the last layer produce " + std::to_string(width) +
                             " values (e.g. dense units=" + std::to_string(width) + ")");
        target_cols_ = width;
        if (targets.source == TargetSource::input) targets_.scaler.identity(width);
        else if (targets_.scaler.width() != width) targets_.scaler.identity(width);
    }
    const TargetKind needed = targets.source == TargetSource::labels ? TargetKind::classes
                                                                     : TargetKind::values;
    if (loss_.target_kind() != needed)
        throw ShapeError(std::string("the loss wants ") + target_kind_name(loss_.target_kind()) +
                         " but the data has " + target_kind_name(needed));
    for (auto& m : metrics_)
        if (!m->accepts(needed))
            throw ShapeError(std::string("a metric does not work on ") + target_kind_name(needed));
    loss_.build(out, device_);
    for (auto& m : metrics_) m->build(out, device_);
    check_metric_value_names(metrics_);
    units_ = TargetUnits();
    if (targets.source != TargetSource::labels)
        units_.build(device_, targets_.scaler, b, targets.base);
    optimizer_.build(model_.parameters(), device_);
    loader_ = std::make_unique<BatchLoader>(
        *pipeline_, b,
        TargetRows{targets_.source, target_cols_,
                   targets_.source == TargetSource::values ? &targets_.scaler : nullptr},
        options_.prefetch);
    build_parallel(target_cols_);
    x_ = device_.alloc(input);
    t_ = device_.alloc(Shape{b, target_cols_});
    regularized_.clear();
    for (Parameter* p : model_.parameters())
        if (p->l1 > 0.0f || p->l2 > 0.0f)
            regularized_.push_back({p, device_.alloc(p->value.shape())});
    // Two slots per regularised parameter (Σw², Σ|w|), reduced on the device; the step
    // downloads them once, together.
    penalty_sums_ = device_.alloc(Shape{std::max<std::size_t>(1, 2 * regularized_.size())});
    penalty_host_.assign(penalty_sums_.numel(), 0.0f);
    weights_ = std::make_unique<Weights>(device_, model_, *pipeline_, targets_.scaler,
                                         options_.write_model);
}

}  // namespace plexus::core
