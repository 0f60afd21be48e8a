#include "plexus/core/modelfile/model_card.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "plexus/core/data/readers/sources.hpp"
#include "plexus/error.hpp"
#include "plexus/export.hpp"
#include "plexus/shape.hpp"
#include "plexus/support/text.hpp"

namespace plexus::core {
namespace {

// What a card may claim: as many classes as a label can name, and samples no larger than the
// largest image a reader accepts with four channels.
constexpr std::size_t kMaxClasses = kMaxClassId + 1;
constexpr std::size_t kMaxSampleElements = std::size_t{1} << 30;
// Far above any real model, low enough that a crafted list cannot make a load run for hours.
constexpr std::size_t kMaxLayers = 4096;
constexpr std::size_t kMaxTransforms = 256;
// A component line (layer, transform, loss) or the experiment's name.
constexpr std::size_t kMaxLineBytes = 4096;

std::string json_text(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

class MetadataReader {
public:
    MetadataReader(const std::map<std::string, std::string>& meta, const std::string& file)
        : meta_(meta), file_(file) {}

    const std::string& required(const std::string& key) const {
        const auto it = meta_.find(key);
        if (it == meta_.end())
            throw DataError(file_ + ": no '" + key +
                            "' in the metadata: not a model written by plexus train " +
                            "(plexus " PLEXUS_VERSION_STRING ")");
        return it->second;
    }

    nlohmann::json list(const std::string& key, std::size_t max_entries) const {
        auto j = nlohmann::json::parse(required(key), nullptr, false);
        if (j.is_discarded() || !j.is_array())
            throw DataError(file_ + ": metadata '" + key +
                            "' is not a JSON list: the file is damaged");
        if (j.size() > max_entries)
            throw DataError(file_ + ": metadata '" + key + "' lists " + std::to_string(j.size()) +
                            " entries, at most " + std::to_string(max_entries) +
                            " are read: the file is damaged");
        return j;
    }

    std::vector<std::string> strings(const std::string& key, std::size_t max_entries,
                                     std::size_t max_bytes) const {
        std::vector<std::string> out;
        for (const auto& v : list(key, max_entries)) {
            if (!v.is_string())
                throw DataError(file_ + ": metadata '" + key + "' holds a non-string entry");
            out.push_back(v.get<std::string>());
            if (out.back().size() > max_bytes)
                throw DataError(file_ + ": metadata '" + key + "' entry " +
                                std::to_string(out.size() - 1) + " is " +
                                std::to_string(out.back().size()) + " bytes long, at most " +
                                std::to_string(max_bytes) + ": the file is damaged");
        }
        return out;
    }

    const std::string& line(const std::string& key) const {
        const std::string& v = required(key);
        if (v.size() > kMaxLineBytes)
            throw DataError(file_ + ": metadata '" + key + "' is " + std::to_string(v.size()) +
                            " bytes long, at most " + std::to_string(kMaxLineBytes) +
                            ": the file is damaged");
        return v;
    }

private:
    const std::map<std::string, std::string>& meta_;
    const std::string& file_;
};

std::string optional_value(const std::map<std::string, std::string>& meta, const std::string& key,
                           const std::string& fallback) {
    const auto it = meta.find(key);
    return it == meta.end() ? fallback : it->second;
}

/// The target fields; model files written before float targets existed have none of them.
void read_target(const std::map<std::string, std::string>& meta, const MetadataReader& r,
                 const std::string& file, ModelCard& card) {
    card.target = optional_value(meta, "target", "classes");
    if (card.target != "classes" && card.target != "values" && card.target != "input")
        throw DataError(file + ": metadata 'target' must be classes, values or input, found " +
                        support::quote_for_message(card.target, 40));
    if (meta.count("target_names"))
        card.target_names = r.strings("target_names", kMaxClasses, kMaxNameBytes);
    if (card.target == "values" && card.target_names.empty())
        throw DataError(file + ": a model of float targets lists no target names; the file is "
                               "damaged");
    card.target_transform = optional_value(meta, "target_transform", "none");
    if (card.target_transform != "none" && card.target_transform != "standardize" &&
        card.target_transform != "scale")
        throw DataError(file +
                        ": metadata 'target_transform' must be none, standardize or "
                        "scale, found " +
                        support::quote_for_message(card.target_transform, 40));
    card.key_name = optional_value(meta, "key_name", "").substr(0, 256);
}

}  // namespace

std::map<std::string, std::string> ModelCard::to_metadata() const {
    std::vector<std::size_t> dims;
    for (std::size_t i = 0; i < input_shape.rank(); ++i) dims.push_back(input_shape[i]);
    return {{"format", "plexus"},
            {"plexus_version", PLEXUS_VERSION_STRING},
            {"experiment", experiment},
            {"layers", json_text(layers)},
            {"loss", loss},
            {"transforms", json_text(transforms)},
            {"input_shape", json_text(dims)},
            {"divide", fmt::format("{:.9g}", static_cast<double>(divide))},
            {"classes", std::to_string(classes)},
            {"class_names", json_text(class_names)},
            {"target", target},
            {"target_names", json_text(target_names)},
            {"target_transform", target_transform},
            {"key_name", key_name}};
}

ModelCard ModelCard::from_metadata(const std::map<std::string, std::string>& metadata,
                                   const std::string& file) {
    const MetadataReader r(metadata, file);
    if (r.required("format") != "plexus")
        throw DataError(file +
                        ": not a model written by plexus train (metadata format is not 'plexus')");
    ModelCard card;
    if (metadata.count("experiment")) card.experiment = r.line("experiment");
    card.loss = r.line("loss");
    card.class_names = r.strings("class_names", kMaxClasses, kMaxNameBytes);
    read_target(metadata, r, file, card);
    // Every number is read whole (no sign, spaces or trailing text) and bounded, so a crafted
    // card fails here with the file's name instead of deep in a layer's build().
    const std::string& classes = r.required("classes");
    const auto [cp, cec] =
        std::from_chars(classes.data(), classes.data() + classes.size(), card.classes);
    const bool classified = card.target == "classes";
    if (cec != std::errc() || cp != classes.data() + classes.size() ||
        (card.classes == 0) == classified || card.classes > kMaxClasses)
        throw DataError(file + ": metadata 'classes' must be " +
                        (classified ? "a whole number from 1 to " + std::to_string(kMaxClasses)
                                    : std::string("0 for a model of float targets")) +
                        ", found " + support::quote_for_message(classes, 40));
    if (!card.class_names.empty() && card.class_names.size() != card.classes)
        throw DataError(file + ": metadata lists " + std::to_string(card.class_names.size()) +
                        " class names for " + std::to_string(card.classes) + " classes");
    const auto dims = r.list("input_shape", 64);  // the rank is checked just below
    if (dims.empty() || dims.size() > Shape::kMaxRank)
        throw DataError(file + ": metadata 'input_shape' must have 1 to " +
                        std::to_string(Shape::kMaxRank) + " dimensions");
    std::size_t numel = 1;
    for (const auto& d : dims) {
        if (!d.is_number_unsigned() || d.get<std::size_t>() == 0 ||
            d.get<std::size_t>() > kMaxSampleElements / numel)
            throw DataError(file +
                            ": metadata 'input_shape' holds a bad dimension (a sample has "
                            "at most " +
                            std::to_string(kMaxSampleElements) + " elements)");
        numel *= d.get<std::size_t>();
        card.input_shape.push_back(d.get<std::size_t>());
    }
    const std::string& divide = r.required("divide");
    const auto [dp, dec] =
        std::from_chars(divide.data(), divide.data() + divide.size(), card.divide);
    if (dec != std::errc() || dp != divide.data() + divide.size())
        throw DataError(file + ": metadata 'divide' is not a number");
    if (!(card.divide > 0.0f) || !std::isfinite(card.divide))
        throw DataError(file + ": metadata 'divide' must be positive");
    card.layers = r.strings("layers", kMaxLayers, kMaxLineBytes);
    card.transforms = r.strings("transforms", kMaxTransforms, kMaxLineBytes);
    return card;
}

}  // namespace plexus::core
