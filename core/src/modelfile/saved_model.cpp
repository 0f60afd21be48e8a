#include "plexus/core/modelfile/saved_model.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "plexus/core/modelfile/safetensors.hpp"
#include "plexus/core/data/batch_loader.hpp"
#include "plexus/plexus.hpp"

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

std::string required(const std::map<std::string, std::string>& meta, const std::string& key,
                     const std::string& file) {
    const auto it = meta.find(key);
    if (it == meta.end())
        throw DataError(file + ": no '" + key + "' in the metadata: not a model written by plexus train " +
                        "(plexus " PLEXUS_VERSION_STRING ")");
    return it->second;
}

nlohmann::json parse_json(const std::string& text, const std::string& key, const std::string& file) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_array())
        throw DataError(file + ": metadata '" + key + "' is not a JSON list: the file is damaged");
    return j;
}

std::vector<std::string> strings(const nlohmann::json& j, const std::string& key, const std::string& file) {
    std::vector<std::string> out;
    for (const auto& v : j) {
        if (!v.is_string()) throw DataError(file + ": metadata '" + key + "' holds a non-string entry");
        out.push_back(v.get<std::string>());
    }
    return out;
}

}  // namespace

Dataset SavedModel::reference() const {
    Dataset d;
    d.source = file.string();
    d.sample_shape = pipeline.input_shape();
    d.classes = classes;
    d.class_names = class_names;
    return d;
}

void SavedModel::predict(const Dataset& data, const std::vector<std::uint32_t>& ids,
                         std::vector<float>& probabilities) {
    evaluate(data, ids, {}, &probabilities);
}

void SavedModel::evaluate(const Dataset& data, const std::vector<std::uint32_t>& ids,
                          const std::vector<std::shared_ptr<Metric>>& metrics,
                          std::vector<float>* probabilities) {
    const std::size_t f = pipeline.output_features(), cols = output_columns();
    std::vector<float> logits(batch * cols);
    Tensor x = device->alloc(Shape{batch, f}), t = device->alloc(Shape{batch, cols});
    for (auto& m : metrics) {
        m->build(model.output_shape(), *device);
        m->reset();
    }
    if (probabilities) probabilities->assign(ids.size() * cols, 0.0f);
    const bool softmax = loss == "softmax_cross_entropy" && cols > 1;
    const bool sigmoid = loss == "binary_cross_entropy" || (loss == "softmax_cross_entropy" && cols == 1);
    // Labels beyond the model's classes cannot be one-hot targets; predict ignores them.
    bool labels_fit = true;
    for (const auto i : ids) labels_fit &= data.labels[i] < std::max<std::size_t>(cols, 2);
    if (!metrics.empty() && !labels_fit)
        throw DataError(data.source + ": holds labels the model's " + std::to_string(cols) + " outputs cannot score");
    Subset subset{&data, ids};
    BatchLoader loader(pipeline, batch, labels_fit ? cols : 0, true);
    loader.start(subset, batch, Mode::infer, 0);
    for (std::size_t begin = 0; begin < ids.size(); begin += batch) {
        const PreparedBatch b = loader.next();
        const std::size_t n = b.rows;
        device->upload(x.rows(0, n), std::span<const float>(b.x, n * f));
        const Tensor& y = model.forward(x.rows(0, n), Mode::infer);
        if (!metrics.empty()) {
            device->upload(t.rows(0, n), std::span<const float>(b.t, n * cols));
            for (auto& m : metrics) m->update(y, t.rows(0, n));
        }
        if (!probabilities) continue;
        device->download(y, std::span<float>(logits.data(), n * cols));
        for (std::size_t r = 0; r < n; ++r) {
            const float* z = logits.data() + r * cols;
            float* p = probabilities->data() + (begin + r) * cols;
            if (softmax) {
                const float top = *std::max_element(z, z + cols);
                double sum = 0.0;
                for (std::size_t c = 0; c < cols; ++c) sum += p[c] = std::exp(z[c] - top);
                for (std::size_t c = 0; c < cols; ++c) p[c] = static_cast<float>(p[c] / sum);
            } else if (sigmoid) {
                for (std::size_t c = 0; c < cols; ++c) p[c] = 1.0f / (1.0f + std::exp(-z[c]));
            } else {
                std::copy_n(z, cols, p);
            }
        }
    }
    loader.stop();
}

std::unique_ptr<SavedModel> load_model(const fs::path& path, const Registry& registry,
                                       const std::string& device_spec, std::size_t batch) {
    fs::path file = path;
    std::error_code ec;
    if (fs::is_directory(path, ec)) file = path / "model.safetensors";
    if (!fs::exists(file, ec))
        throw DataError(file.string() + ": no such model (give a run folder or its model.safetensors)");
    SafetensorsFile st = read_safetensors(file);
    const std::string name = file.string();

    auto m = std::make_unique<SavedModel>();
    m->file = file;
    m->metadata = st.metadata;
    m->batch = batch;
    if (required(st.metadata, "format", name) != "plexus")
        throw DataError(name + ": not a model written by plexus train (metadata format is not 'plexus')");
    m->loss = parse_component_spec(required(st.metadata, "loss", name), name).name;
    m->class_names = strings(parse_json(required(st.metadata, "class_names", name), "class_names", name),
                             "class_names", name);
    try {
        m->classes = std::stoul(required(st.metadata, "classes", name));
    } catch (const std::logic_error&) {
        throw DataError(name + ": metadata 'classes' is not a number");
    }
    Shape input;
    for (const auto& d : parse_json(required(st.metadata, "input_shape", name), "input_shape", name)) {
        if (!d.is_number_unsigned() || d.get<std::size_t>() == 0 || d.get<std::size_t>() > (1u << 24))
            throw DataError(name + ": metadata 'input_shape' holds a bad dimension");
        input.push_back(d.get<std::size_t>());
    }
    float divide = 1.0f;
    try {
        divide = std::stof(required(st.metadata, "divide", name));
    } catch (const std::logic_error&) {
        throw DataError(name + ": metadata 'divide' is not a number");
    }
    if (!(divide > 0.0f) || !std::isfinite(divide)) throw DataError(name + ": metadata 'divide' must be positive");

    const std::string where = name + " (metadata)";
    m->device = registry.create_as<Device>(device_spec, "--device");
    for (const auto& spec : strings(parse_json(required(st.metadata, "layers", name), "layers", name), "layers", name)) {
        const ComponentSpec cs = parse_component_spec(spec, where);
        m->model.add(registry.create_as<Layer>(cs), cs.name);
    }
    for (const auto& spec :
         strings(parse_json(required(st.metadata, "transforms", name), "transforms", name), "transforms", name))
        m->pipeline.add(registry.create_as<Transform>(parse_component_spec(spec, where)), spec);
    if (m->model.size() == 0) throw DataError(name + ": the model has no layers");

    try {
        const Shape prepared = m->pipeline.build(input, batch, divide, 0);
        m->model.build(Shape{batch, prepared.numel()}, *m->device, 0);
        m->pipeline.load_state(st.tensors);
    } catch (const Error& e) {
        throw DataError(name + ": " + e.what());
    }
    // Every model tensor must come from the file with its shape; nothing may be left over.
    std::size_t used = 0;
    for (const auto& w : m->model.weights()) {
        const auto it = std::find_if(st.tensors.begin(), st.tensors.end(),
                                     [&](const HostTensor& t) { return t.name == w.name; });
        if (it == st.tensors.end()) throw DataError(name + ": tensor '" + w.name + "' is missing");
        if (it->shape != w.value.shape())
            throw DataError(name + ": tensor '" + w.name + "' is " + it->shape.str() + ", the model needs " +
                            w.value.shape().str());
        m->device->upload(w.value, it->values);
        ++used;
    }
    std::size_t layer_tensors = 0;
    for (const auto& t : st.tensors) {
        if (t.name.rfind("transform", 0) == 0) continue;
        if (t.name.rfind("layer", 0) != 0) throw DataError(name + ": unexpected tensor '" + t.name + "'");
        ++layer_tensors;
    }
    if (layer_tensors != used)
        throw DataError(name + ": holds " + std::to_string(layer_tensors) + " layer tensors, its architecture " +
                        std::to_string(used) + ": the file does not match its own metadata");
    return m;
}

}  // namespace plexus::core
