// What a run's model learns to predict: class ids, the data's float targets (scaled by the
// experiment's target_transform, fitted on the training split) or the input itself; and the
// checks that the loss and metrics suit them, naming the experiment's lines.
#include <fmt/format.h>

#include "plexus/core/data/targets.hpp"
#include "plexus/plexus.hpp"
#include "run_steps.hpp"

namespace plexus::core {
namespace {

std::string target_words(TargetSource source) {
    switch (source) {
        case TargetSource::values: return "float targets";
        case TargetSource::input: return "its own input as target (target = input)";
        case TargetSource::labels: break;
    }
    return "class ids";
}

void check_same_kind(const RunData& data, const ExperimentSettings& s) {
    const Dataset& train = data.train_data;
    for (const Dataset* other : {data.test_data.get(), data.validation_data.get()}) {
        if (!other) continue;
        if (other->has_targets() != train.has_targets() ||
            other->target_width != train.target_width)
            throw ConfigError(fmt::format(
                "{}: {} has {}, but the training data {} has {}: give both the same targets",
                s.file.string(), other->source,
                other->has_targets() ? fmt::format("{} float target(s)", other->target_width)
                                     : std::string("class ids"),
                train.source,
                train.has_targets() ? fmt::format("{} float target(s)", train.target_width)
                                    : std::string("class ids")));
    }
}

}  // namespace

TrainTargets run_targets(const PreparedRun& run) {
    const ExperimentSettings& s = run.settings;
    const RunData& data = *run.data;
    const Dataset& train = data.train_data;
    TrainTargets t;
    if (const auto& target = s.data.target) {
        if (target->value != "input")
            throw ConfigError(at(*target) + "target must be 'input' (each sample is its own "
                                            "target); a CSV's target columns go on the source: "
                                            "csv:PATH target=NAME");
        t.source = TargetSource::input;
    } else if (train.has_targets()) {
        t.source = TargetSource::values;
        check_same_kind(data, s);
    }
    const TargetKind wanted = run.components->loss->target_kind();
    const TargetKind have =
        t.source == TargetSource::labels ? TargetKind::classes : TargetKind::values;
    if (wanted != have)
        throw ConfigError(fmt::format(
            "{}loss = {} wants {}, but the data has {}: {}", at(s.model.loss), s.model.loss.value,
            target_kind_name(wanted), target_words(t.source),
            wanted == TargetKind::values
                ? "give the source float targets (csv:PATH target=NAME, npy:PATH targets=PATH, "
                  "series:...) or set target = input, or use softmax_cross_entropy for classes"
                : "use mse, mae or huber for float targets"));
    for (std::size_t i = 0; i < s.train.metrics.size(); ++i)
        if (!run.components->metrics[i]->accepts(have))
            throw ConfigError(fmt::format(
                "{}metric = {} does not work on {}: {}", at(s.train.metrics[i]),
                s.train.metrics[i].value, target_words(t.source),
                have == TargetKind::values ? "use mae, mse, rmse, r2 or mape"
                                           : "use accuracy, f1, precision, recall, ..."));

    const Setting& transform = s.data.target_transform;
    TargetScaler scaler = TargetScaler::parse(transform.value, transform.where);
    if (!scaler.is_identity() && t.source != TargetSource::values)
        throw ConfigError(at(transform) + "target_transform applies to float targets, and this "
                                          "run's data has " + target_words(t.source) +
                          (t.source == TargetSource::input
                               ? " (scale the input with the data transforms instead)"
                               : ""));
    if (t.source == TargetSource::labels) {
        t.classes = data.classes;
        t.class_counts = data.train_counts;
        return t;
    }
    if (t.source == TargetSource::values) {
        t.width = train.target_width;
        scaler.fit(train, data.train.indices);  // the training split only
        t.scaler = std::move(scaler);
        t.base = !train.target_base.empty();
    }
    return t;
}

}  // namespace plexus::core
