// [model] init_from and freeze: a new model starts from a saved one's layers, some of them
// frozen. Both run once the model is built, before training; a resumed run that trained an
// epoch already has its own weights and skips init_from.
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "plexus/core/modelfile/saved_model.hpp"
#include "plexus/support/index_ranges.hpp"
#include "plexus/support/text.hpp"
#include "run_steps.hpp"

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

std::string layer_text(const Sequential& model, std::size_t i) {
    return fmt::format("layer {} ({})", i, model.layer_name(i));
}

// The first tensor (by name and shape) in which layer i of `from` and of `to` differ, or "".
std::string shape_difference(const Sequential& from, const Sequential& to, std::size_t i,
                             const std::string& file) {
    const auto a = from.layer_weights(i), b = to.layer_weights(i);
    for (std::size_t k = 0; k < std::max(a.size(), b.size()); ++k) {
        const std::string left =
            k < a.size() ? fmt::format("{} {}", a[k].name, a[k].value.shape().str()) : "nothing";
        const std::string right =
            k < b.size() ? fmt::format("{} {}", b[k].name, b[k].value.shape().str()) : "nothing";
        if (left != right)
            return fmt::format("{} of {} holds {} where {} of this model holds {}",
                               layer_text(from, i), file, left, layer_text(to, i), right);
    }
    return {};
}

std::string ranges_text(const std::vector<std::size_t>& layers) {
    std::string out;
    for (std::size_t k = 0; k < layers.size(); ++k) {
        const std::size_t first = layers[k];
        while (k + 1 < layers.size() && layers[k + 1] == layers[k] + 1) ++k;
        const std::string span =
            first == layers[k] ? std::to_string(first) : fmt::format("{}-{}", first, layers[k]);
        out += (out.empty() ? "" : ",") + span;
    }
    return out;
}

}  // namespace

void apply_freeze(Sequential& model, const ModelSettings& settings) {
    if (!settings.freeze) return;
    const std::string who = at(*settings.freeze) + "freeze";
    const support::IndexRanges layers = support::parse_index_ranges(settings.freeze->value, who);
    support::check_index_ranges(layers, model.size(), who);
    for (std::size_t i = 0; i < model.size(); ++i)
        if (layers.contains(i)) model.set_trainable(i, false);
}

std::string apply_init_from(Sequential& model, Device& device, const PreparedRun& run) {
    const auto& setting = run.settings.model.init_from;
    if (!setting) return {};
    const std::string who = at(*setting) + "init_from";
    const ComponentSpec spec = parse_component_spec(setting->value, at(*setting) + "init_from: ");
    std::optional<support::IndexRanges> chosen;
    for (const auto& [key, value] : spec.params) {
        if (key != "layers")
            throw ConfigError(fmt::format("{}: unknown option '{}' (the only one is layers=, e.g. "
                                          "init_from = runs/base layers=0-3)",
                                          who, support::printable(key, 40)));
        chosen = support::parse_index_ranges(value, who + " layers");
    }
    fs::path path = spec.name;
    if (path.is_relative()) path = run.settings.data.base_dir / path;
    std::unique_ptr<SavedModel> source;
    try {
        source = load_model(path, run.registry, "cpu", 1);
    } catch (const Error& e) {
        throw ConfigError(who + ": " + e.what());
    }
    const std::string file = support::printable(source->file.string(), support::kMaxShownPathBytes);
    const Sequential& from = source->model;
    const Shape& own_input = run.data->train_data.sample_shape;
    if (!chosen && source->card.input_shape != own_input)
        throw ConfigError(fmt::format(
            "{}: {} was trained on samples {}, this experiment's are {} (a model for other "
            "inputs; give layers=I-J to copy only layers whose shapes fit)",
            who, file, source->card.input_shape.str(), own_input.str()));

    std::vector<std::size_t> copied;
    std::string stopped;
    if (chosen) {
        support::check_index_ranges(*chosen, from.size(), who + " layers (in " + file + ")");
        support::check_index_ranges(*chosen, model.size(), who + " layers (in this model)");
        for (std::size_t i = 0; i < from.size(); ++i) {
            if (!chosen->contains(i)) continue;
            if (from.layer_name(i) != model.layer_name(i))
                throw ConfigError(fmt::format("{}: {} of {} is not {} of this model",
                                              who, layer_text(from, i), file,
                                              layer_text(model, i)));
            if (const std::string d = shape_difference(from, model, i, file); !d.empty())
                throw ConfigError(who + ": " + d);
            copied.push_back(i);
        }
    } else {
        // Every layer of the same kind at the same index, up to the first that differs.
        for (std::size_t i = 0; i < std::min(from.size(), model.size()); ++i) {
            if (from.layer_name(i) != model.layer_name(i)) {
                stopped = fmt::format("; {} differs: {} there", layer_text(model, i),
                                      from.layer_name(i));
                break;
            }
            if (const std::string d = shape_difference(from, model, i, file); !d.empty()) {
                stopped = "; stopped at " + d;
                break;
            }
            copied.push_back(i);
        }
        if (copied.empty())
            throw ConfigError(fmt::format("{}: no layer to copy from {}: {}", who, file,
                                          stopped.substr(2)));
    }
    std::vector<float> host;
    for (const std::size_t i : copied) {
        const auto a = from.layer_weights(i), b = model.layer_weights(i);
        for (std::size_t k = 0; k < a.size(); ++k) {
            host.resize(a[k].value.numel());
            source->device->download(a[k].value, host);
            device.upload(b[k].value, host);
        }
    }
    return fmt::format("init_from: copied layers {} from {}{}", ranges_text(copied), file,
                       stopped);
}

}  // namespace plexus::core
