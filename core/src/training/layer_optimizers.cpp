// Parameter groups (layer_optimizers.hpp): the main optimizer and each group's see only their
// own parameters, built once; a step hands each its list at its scaled rate.
#include "plexus/core/training/layer_optimizers.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "plexus/error.hpp"

namespace plexus::core {

LayerOptimizers::LayerOptimizers(std::shared_ptr<Optimizer> main, std::vector<Group> groups,
                                 const Sequential& model)
    : groups_(std::move(groups)), model_(model) {
    parts_.push_back({std::move(main), {}, 0.0f});
    for (const Group& g : groups_) parts_.push_back({g.optimizer, {}, 0.0f});
}

void LayerOptimizers::check_groups(const std::vector<Group>& groups, std::size_t layer_count) {
    for (std::size_t k = 0; k < groups.size(); ++k) {
        support::check_index_ranges(groups[k].layers, layer_count, groups[k].who);
        for (std::size_t j = 0; j < k; ++j)
            for (std::size_t i = 0; i < layer_count; ++i)
                if (groups[k].layers.contains(i) && groups[j].layers.contains(i))
                    throw ConfigError(fmt::format(
                        "{}: layer {} already has an optimizer ({}); give each layer at most "
                        "one layer_optimizer line",
                        groups[k].who, i, groups[j].who));
    }
}

void LayerOptimizers::build(std::span<Parameter* const> params, Device& device) {
    const auto& model_params = model_.parameters();
    if (params.size() != model_params.size() ||
        !std::equal(params.begin(), params.end(), model_params.begin()))
        throw Error("layer_optimizer: build() needs the model's own parameters, in its order");
    for (Part& part : parts_) part.params.clear();
    for (std::size_t k = 0; k < params.size(); ++k) {
        const std::size_t layer = model_.parameter_layers()[k];
        std::size_t owner = 0;
        for (std::size_t g = 0; g < groups_.size(); ++g)
            if (groups_[g].layers.contains(layer)) owner = g + 1;
        parts_[owner].params.push_back(params[k]);
    }
    for (std::size_t g = 0; g < groups_.size(); ++g)
        if (parts_[g + 1].params.empty())
            throw ConfigError(fmt::format(
                "{}: layers {} hold no parameters (relu, pooling, dropout, ... have none; "
                "name layers such as dense, conv2d or batchnorm)",
                groups_[g].who, groups_[g].layers_text));
    for (Part& part : parts_) {
        part.optimizer->build(part.params, device);
        part.base_lr = part.optimizer->learning_rate();
    }
}

void LayerOptimizers::step(std::span<Parameter* const>, float lr) {
    // The main optimizer's configured rate is what the schedule started from; its ratio to
    // the rate in force scales every group.
    const float main_base = parts_.front().base_lr;
    const float scale = main_base > 0.0f ? lr / main_base : 1.0f;
    for (Part& part : parts_)
        if (!part.params.empty())
            part.optimizer->step(part.params, &part == &parts_.front() ? lr : part.base_lr * scale);
}

float LayerOptimizers::learning_rate() const {
    return parts_.front().optimizer->learning_rate();
}

std::vector<NamedTensor> LayerOptimizers::state() {
    std::vector<NamedTensor> all = parts_.front().optimizer->state();
    for (std::size_t g = 1; g < parts_.size(); ++g)
        for (NamedTensor& t : parts_[g].optimizer->state()) {
            t.name = fmt::format("group{}/{}", g, t.name);
            all.push_back(std::move(t));
        }
    return all;
}

}  // namespace plexus::core
