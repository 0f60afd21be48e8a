// Parameter groups: `[train] layer_optimizer = 0-1: sgd lr=0.05 momentum=0.9` gives some
// layers an optimizer of their own (PyTorch's param_groups, Keras' MultiOptimizer), while the
// rest keep `train.optimizer`. Seen from the trainer it is one Optimizer, so schedules,
// checkpoints, resume and data parallelism need nothing new.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plexus/core/training/model.hpp"
#include "plexus/optimizer.hpp"
#include "plexus/support/index_ranges.hpp"

#pragma GCC visibility push(default)

namespace plexus::core {

class LayerOptimizers final : public Optimizer {
public:
    struct Group {
        support::IndexRanges layers;
        std::string layers_text;  // as written, "0-1"
        std::shared_ptr<Optimizer> optimizer;
        std::string who;  // "FILE:LINE: layer_optimizer", for messages
    };

    /// `main` updates every parameter no group claims. Requires groups whose layers exist in
    /// `model` (check_groups) and that `model` outlives this object.
    LayerOptimizers(std::shared_ptr<Optimizer> main, std::vector<Group> groups,
                    const Sequential& model);

    /// Throws ConfigError naming the group's line when its layers do not exist in a model of
    /// `layer_count` layers or overlap an earlier group's.
    static void check_groups(const std::vector<Group>& groups, std::size_t layer_count);

    /// Splits `params` (the model's, in its order) between the groups and the main optimizer
    /// and builds each. Throws ConfigError when a group's layers have no parameters.
    void build(std::span<Parameter* const> params, Device& device) override;
    /// Each group steps at its own rate times lr / learning_rate(): a schedule scales every
    /// group alike, as PyTorch's schedulers scale every param group. Allocates nothing.
    void step(std::span<Parameter* const> params, float lr) override;
    /// The main optimizer's rate (the one schedules, lr-find and the logs follow).
    float learning_rate() const override;
    /// The main optimizer's state under its own names, then group K's (K from 1) under
    /// "groupK/NAME", so a checkpoint holds both and resumes into the same groups.
    std::vector<NamedTensor> state() override;

private:
    struct Part {
        std::shared_ptr<Optimizer> optimizer;
        std::vector<Parameter*> params;
        float base_lr = 0.0f;
    };
    std::vector<Group> groups_;
    const Sequential& model_;
    std::vector<Part> parts_;  // the main optimizer first
};

}  // namespace plexus::core

#pragma GCC visibility pop
