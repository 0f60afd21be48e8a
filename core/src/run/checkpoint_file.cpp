// RUN_DIR/resume.safetensors: a run's full-state checkpoint as one safetensors file. Tensors:
// "model/NAME", "optimizer/NAME", "best/weights", "layer/I/NAME" and "callback/I/NAME" (the
// float arrays of saved states); everything else is JSON in the metadata entry
// "plexus.checkpoint". Reals are stored as the bits of their double, so every value (NaN and
// infinities included) comes back exactly; a resumed run depends on that.
#include <bit>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>

#include "plexus/core/modelfile/safetensors.hpp"
#include "plexus/error.hpp"
#include "run_steps.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace plexus::core {
namespace {

constexpr const char* kMetadataKey = "plexus.checkpoint";
constexpr int kFormat = 1;

std::uint64_t bits(double v) {
    return std::bit_cast<std::uint64_t>(v);
}

json state_json(const SavedState& s, const std::string& prefix, std::vector<HostTensor>& tensors) {
    json reals = json::object(), counts = json::object(), texts = json::object();
    json arrays = json::array();
    for (const auto& [k, v] : s.reals()) reals[k] = bits(v);
    for (const auto& [k, v] : s.counts()) counts[k] = v;
    for (const auto& [k, v] : s.texts()) texts[k] = v;
    for (const auto& [k, v] : s.arrays()) {
        arrays.push_back(k);
        if (!v.empty()) tensors.push_back({prefix + k, Shape{v.size()}, v});
    }
    return {{"reals", reals}, {"counts", counts}, {"texts", texts}, {"arrays", arrays}};
}

/// Reads a checkpoint's JSON, every value checked for its type: the file may be damaged.
class Reader {
public:
    Reader(std::string file, std::map<std::string, HostTensor> tensors)
        : file_(std::move(file)), tensors_(std::move(tensors)) {}

    [[noreturn]] void fail(const std::string& what) const {
        throw DataError(file_ + ": " + what +
                        " (the checkpoint is damaged; start the run again from its experiment)");
    }
    const json& get(const json& j, const char* key, json::value_t type) const {
        if (!j.is_object() || !j.contains(key)) fail(std::string("no '") + key + "'");
        const json& v = j[key];
        const bool ok = type == json::value_t::number_unsigned ? v.is_number_unsigned()
                                                               : v.type() == type;
        if (!ok) fail(std::string("'") + key + "' has the wrong type");
        return v;
    }
    std::uint64_t count(const json& j, const char* key) const {
        return get(j, key, json::value_t::number_unsigned).get<std::uint64_t>();
    }
    double real(const json& v) const {
        if (!v.is_number_unsigned()) fail("a real is not stored as its bits");
        return std::bit_cast<double>(v.get<std::uint64_t>());
    }
    std::string text(const json& j, const char* key) const {
        return get(j, key, json::value_t::string).get<std::string>();
    }
    HostTensor take(const std::string& name) {
        const auto it = tensors_.find(name);
        if (it == tensors_.end()) fail("no tensor '" + name + "'");
        HostTensor t = std::move(it->second);
        tensors_.erase(it);
        return t;
    }
    std::vector<HostTensor> tensors(const json& names, const std::string& prefix) {
        if (!names.is_array()) fail("a tensor list is not an array");
        std::vector<HostTensor> out;
        for (const auto& n : names) {
            if (!n.is_string()) fail("a tensor name is not a string");
            HostTensor t = take(prefix + n.get<std::string>());
            t.name = n.get<std::string>();
            out.push_back(std::move(t));
        }
        return out;
    }
    SavedState state(const json& j, const std::string& prefix) {
        SavedState s;
        for (const auto& [k, v] : get(j, "reals", json::value_t::object).items())
            s.set_real(k, real(v));
        for (const auto& [k, v] : get(j, "counts", json::value_t::object).items()) {
            if (!v.is_number_unsigned()) fail("count '" + k + "' is not a count");
            s.set_count(k, v.get<std::uint64_t>());
        }
        for (const auto& [k, v] : get(j, "texts", json::value_t::object).items()) {
            if (!v.is_string()) fail("text '" + k + "' is not a string");
            s.set_text(k, v.get<std::string>());
        }
        for (const auto& k : get(j, "arrays", json::value_t::array)) {
            if (!k.is_string()) fail("an array name is not a string");
            const std::string name = k.get<std::string>();
            s.set_floats(name, tensors_.count(prefix + name) ? take(prefix + name).values
                                                             : std::vector<float>{});
        }
        return s;
    }
    std::vector<SavedState> states(const json& list, const std::string& prefix) {
        if (!list.is_array()) fail("a list of saved states is not an array");
        std::vector<SavedState> out;
        for (std::size_t i = 0; i < list.size(); ++i)
            out.push_back(state(list[i], prefix + std::to_string(i) + "/"));
        return out;
    }
    const std::map<std::string, HostTensor>& left() const { return tensors_; }

private:
    std::string file_;
    std::map<std::string, HostTensor> tensors_;
};

History read_history(Reader& r, const json& j) {
    History h;
    for (const auto& c : r.get(j, "columns", json::value_t::array)) {
        if (!c.is_string()) r.fail("a history column is not a string");
        h.columns.push_back(c.get<std::string>());
    }
    for (const auto& row : r.get(j, "rows", json::value_t::array)) {
        if (!row.is_array() || row.size() != h.columns.size())
            r.fail("a history row does not have one value per column");
        std::vector<double> values;
        for (const auto& v : row) values.push_back(r.real(v));
        h.rows.push_back(std::move(values));
    }
    return h;
}

}  // namespace

void write_checkpoint(const fs::path& file, const RunCheckpoint& checkpoint) {
    const TrainCheckpoint& c = checkpoint.train;
    std::vector<HostTensor> tensors;
    json model = json::array(), optimizer = json::array(), rows = json::array();
    for (const auto& t : c.weights) {
        model.push_back(t.name);
        tensors.push_back({"model/" + t.name, t.shape, t.values});
    }
    for (const auto& t : c.optimizer) {
        optimizer.push_back(t.name);
        tensors.push_back({"optimizer/" + t.name, t.shape, t.values});
    }
    if (!c.best_weights.empty())
        tensors.push_back({"best/weights", Shape{c.best_weights.size()}, c.best_weights});
    for (const auto& row : c.history.rows) {
        json r = json::array();
        for (double v : row) r.push_back(bits(v));
        rows.push_back(std::move(r));
    }
    json layers = json::array(), callbacks = json::array();
    for (std::size_t i = 0; i < c.layers.size(); ++i)
        layers.push_back(state_json(c.layers[i], "layer/" + std::to_string(i) + "/", tensors));
    for (std::size_t i = 0; i < c.callbacks.size(); ++i)
        callbacks.push_back(
            state_json(c.callbacks[i], "callback/" + std::to_string(i) + "/", tensors));
    const json j = {{"format", kFormat},
                    {"epochs_done", c.epochs_done},
                    {"step", c.step},
                    {"learning_rate", bits(c.learning_rate)},
                    {"stop_training", c.stop_training},
                    {"stop_reason", c.stop_reason},
                    {"history", {{"columns", c.history.columns}, {"rows", rows}}},
                    {"model", model},
                    {"optimizer", optimizer},
                    {"best", {{"value", bits(c.best_value)}, {"epoch", c.best_epoch}}},
                    {"layers", layers},
                    {"callbacks", callbacks},
                    {"data_dir", checkpoint.data_dir.string()},
                    {"experiment", checkpoint.experiment}};
    write_safetensors(file, tensors,
                      {{kMetadataKey, j.dump(-1, ' ', false, json::error_handler_t::replace)}});
}

RunCheckpoint read_checkpoint(const fs::path& file) {
    SafetensorsFile f = read_safetensors(file);
    std::map<std::string, HostTensor> by_name;
    for (auto& t : f.tensors) {
        std::string name = t.name;
        by_name.emplace(std::move(name), std::move(t));
    }
    Reader r(file.string(), std::move(by_name));
    const auto meta = f.metadata.find(kMetadataKey);
    if (meta == f.metadata.end())
        throw DataError(file.string() + ": not a Plexus checkpoint (no '" + kMetadataKey +
                        "' metadata)");
    const json j = json::parse(meta->second, nullptr, false);
    if (j.is_discarded() || !j.is_object()) r.fail("its metadata is not a JSON object");
    if (r.count(j, "format") != kFormat)
        r.fail("format " + std::to_string(r.count(j, "format")) + " is not the format " +
               std::to_string(kFormat) + " this Plexus writes");
    RunCheckpoint out;
    TrainCheckpoint& c = out.train;
    c.epochs_done = r.count(j, "epochs_done");
    c.step = r.count(j, "step");
    c.learning_rate = static_cast<float>(r.real(r.get(j, "learning_rate",
                                                      json::value_t::number_unsigned)));
    c.stop_training = r.get(j, "stop_training", json::value_t::boolean).get<bool>();
    c.stop_reason = r.text(j, "stop_reason");
    c.history = read_history(r, r.get(j, "history", json::value_t::object));
    c.weights = r.tensors(r.get(j, "model", json::value_t::array), "model/");
    c.optimizer = r.tensors(r.get(j, "optimizer", json::value_t::array), "optimizer/");
    const json& best = r.get(j, "best", json::value_t::object);
    c.best_value = r.real(r.get(best, "value", json::value_t::number_unsigned));
    c.best_epoch = r.count(best, "epoch");
    if (r.left().count("best/weights")) c.best_weights = r.take("best/weights").values;
    c.layers = r.states(r.get(j, "layers", json::value_t::array), "layer/");
    c.callbacks = r.states(r.get(j, "callbacks", json::value_t::array), "callback/");
    if (!r.left().empty()) r.fail("tensor '" + r.left().begin()->first + "' belongs to nothing");
    out.data_dir = r.text(j, "data_dir");
    out.experiment = r.text(j, "experiment");
    return out;
}

}  // namespace plexus::core
