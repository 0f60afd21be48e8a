#include "plexus/core/modelfile/saved_model.hpp"

#include <algorithm>
#include <cmath>
#include <new>

#include "plexus/core/data/batch_loader.hpp"
#include "plexus/core/modelfile/safetensors.hpp"
#include "plexus/core/training/inference.hpp"
#include "plexus/core/training/target_units.hpp"
#include "plexus/plexus.hpp"
#include "plexus/support/text.hpp"

namespace fs = std::filesystem;

namespace plexus::core {

SavedModel::SavedModel() = default;
SavedModel::~SavedModel() = default;

Dataset SavedModel::reference() const {
    Dataset d;
    d.source = file.string();
    d.sample_shape = pipeline.input_shape();
    d.classes = card.classes;
    d.class_names = card.class_names;
    return d;
}

void SavedModel::predict(const Dataset& data, const std::vector<std::uint32_t>& ids,
                         std::vector<float>& probabilities) {
    evaluate(data, ids, {}, &probabilities);
}

void SavedModel::buffers() {
    if (!x_in.empty()) return;
    x_in = device->alloc(batch_of(batch, pipeline.output_shape()));
    t_in = device->alloc(Shape{batch, output_columns()});
}

void SavedModel::warm_up() {
    buffers();
    device->fill(x_in, 0.0f);
    device->fill(t_in, 0.0f);
    model.forward(x_in, Mode::infer);
    // The loader's 2 x batch host samples are zeroed (faulted in) here, not in the timed
    // evaluation: on 4 KiB pages, when the kernel has no 2 MiB page free, that took 14 ms.
    loader_for(float_targets() ? value_rows(true) : TargetRows{TargetSource::labels, output_columns(), nullptr});
    device->synchronize();
}

BatchLoader& SavedModel::loader_for(const TargetRows& rows) {
    if (!loader_ || loader_rows_.source != rows.source || loader_rows_.cols != rows.cols ||
        loader_rows_.scaler != rows.scaler) {
        loader_.reset();  // its buffers go before the new ones are made
        loader_ = std::make_unique<BatchLoader>(pipeline, batch, rows, true);
        loader_rows_ = rows;
    }
    return *loader_;
}

TargetRows SavedModel::value_rows(bool targets) const {
    const bool input = card.target == "input";
    // Without targets (predict alone) nothing is scaled on the way in.
    return TargetRows{input ? TargetSource::input : TargetSource::values, targets ? output_columns() : 0,
                      input || !targets ? nullptr : &target_scaler};
}

void SavedModel::evaluate(const Dataset& data, const std::vector<std::uint32_t>& ids,
                          const std::vector<std::shared_ptr<Metric>>& metrics,
                          std::vector<float>* probabilities) {
    const std::size_t cols = output_columns();
    std::vector<float> logits(batch * cols);
    buffers();
    const Tensor& x = x_in;
    const Tensor& t = t_in;
    for (auto& m : metrics) {
        m->build(model.output_shape(), *device);
        m->reset();
    }
    if (data.unlabeled && !metrics.empty())
        throw DataError(data.source + ": has no labels; evaluating needs them (plexus predict "
                        "runs a model on unlabelled data)");
    if (probabilities) probabilities->assign(ids.size() * cols, 0.0f);
    if (float_targets()) return evaluate_values(data, ids, metrics, probabilities);
    const bool softmax = loss == "softmax_cross_entropy" && cols > 1;
    const bool sigmoid =
        loss == "binary_cross_entropy" || (loss == "softmax_cross_entropy" && cols == 1);
    // Labels beyond the model's classes cannot be one-hot targets; predict ignores them.
    bool labels_fit = !data.unlabeled;
    for (std::size_t k = 0; labels_fit && k < ids.size(); ++k)
        labels_fit = data.labels[ids[k]] < std::max<std::size_t>(cols, 2);
    if (!metrics.empty() && !labels_fit)
        throw DataError(data.source + ": holds labels the model's " + std::to_string(cols) +
                        " outputs cannot score");
    const Subset subset{&data, ids};
    BatchLoader& loader =
        loader_for(TargetRows{TargetSource::labels, labels_fit ? cols : 0, nullptr});
    infer(*device, model, loader, subset, x, metrics.empty() ? nullptr : &t,
          [&](const InferBatch& b) {
              for (auto& m : metrics) m->update(b.y, b.t);
              if (!probabilities) return;
              device->download(b.y, std::span<float>(logits.data(), b.rows * cols));
              for (std::size_t r = 0; r < b.rows; ++r) {
                  const float* z = logits.data() + r * cols;
                  float* p = probabilities->data() + (b.begin + r) * cols;
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
          });
}

void SavedModel::evaluate_values(const Dataset& data, const std::vector<std::uint32_t>& ids,
                                 const std::vector<std::shared_ptr<Metric>>& metrics,
                                 std::vector<float>* predictions) {
    const std::size_t cols = output_columns();
    const bool input = card.target == "input";
    if (!input && data.target_width != cols && (!metrics.empty() || !data.target_base.empty()))
        throw DataError(data.source + ": samples have " + std::to_string(data.target_width) +
                        " float targets, the model predicts " + std::to_string(cols) +
                        (data.target_width == 0 ? " (give the source its target columns: "
                                                  "csv:PATH target=NAME)"
                                                : ""));
    buffers();
    const Tensor& x = x_in;
    const Tensor& t = t_in;
    for (auto& m : metrics) {
        m->build(model.output_shape(), *device);
        m->reset();
    }
    const bool base = !input && !data.target_base.empty();
    TargetUnits units;
    units.build(*device, target_scaler, batch, base);
    std::vector<float> host(batch * cols);
    if (predictions) predictions->assign(ids.size() * cols, 0.0f);
    const bool targets = !metrics.empty() || base;  // bases travel with the targets
    BatchLoader& loader = loader_for(value_rows(targets));
    const Subset subset{&data, ids};
    infer(*device, model, loader, subset, x, targets ? &t : nullptr, [&](const InferBatch& b) {
        if (!metrics.empty()) {
            const auto [yu, tu] = units.to_units(b.y, b.t, b.base);
            for (auto& m : metrics) m->update(yu, tu);
        }
        if (!predictions) return;
        device->download(b.y, std::span<float>(host.data(), b.rows * cols));
        if (!input) target_scaler.invert(host.data(), b.rows);
        if (b.base)
            for (std::size_t i = 0; i < b.rows * cols; ++i) host[i] += b.base[i];
        std::copy_n(host.data(), b.rows * cols, predictions->data() + b.begin * cols);
    });
}

namespace {

// The card's classes or targets must be what the model's last layer produces and what its loss
// trains, as Trainer::build required when the model was trained.
void check_outputs(const SavedModel& m, const Loss& loss, const std::string& name) {
    const Shape out = m.model.output_shape();
    const std::size_t cols = m.output_columns();
    const ModelCard& card = m.card;
    const TargetKind needed = card.target == "classes" ? TargetKind::classes : TargetKind::values;
    if (loss.target_kind() != needed)
        throw DataError(name + ": the loss " + support::quote_for_message(m.loss, 60) + " trains " +
                        target_kind_name(loss.target_kind()) +
                        " but the metadata says the model predicts " + target_kind_name(needed) +
                        ": the file does not match its own metadata");
    std::size_t want = cols;
    if (card.target == "classes") {
        const bool binary = card.classes == 2 && cols == 1;
        if (out.rank() != 2 || (cols != card.classes && !binary)) want = card.classes;
    } else if (card.target == "values") {
        want = card.target_names.size();
    } else {
        want = m.pipeline.output_features();
    }
    if (cols != want)
        throw DataError(name + ": the model's last layer gives " + out.str() + " per batch, " +
                        "but the metadata says " + std::to_string(want) +
                        (card.target == "classes"  ? " classes"
                         : card.target == "values" ? " targets"
                                                   : " input values") +
                        ": the file does not match its own metadata");
}

// NaN or infinite weights make every prediction NaN (or one class for all): refuse them by name.
void check_finite(const std::vector<HostTensor>& tensors, const std::string& name) {
    for (const HostTensor& t : tensors) {
        const auto bad = std::find_if(t.values.begin(), t.values.end(),
                                      [](float v) { return !std::isfinite(v); });
        if (bad == t.values.end()) continue;
        throw DataError(name + ": tensor " + support::quote_for_message(t.name, 80) + " holds " +
                        (std::isnan(*bad) ? "NaN" : "an infinite value") + " (value " +
                        std::to_string(bad - t.values.begin()) + " of " +
                        std::to_string(t.values.size()) +
                        "); the model cannot predict: retrain it (a lower learning rate) or use "
                        "an earlier checkpoint");
    }
}

}  // namespace

std::unique_ptr<SavedModel> load_model(const fs::path& path, const Registry& registry,
                                       const std::string& device_spec, std::size_t batch) {
    fs::path file = path;
    std::error_code ec;
    if (fs::is_directory(path, ec)) file = path / "model.safetensors";
    if (!fs::exists(file, ec))
        throw DataError(file.string() +
                        ": no such model (give a run folder or its model.safetensors)");
    SafetensorsFile st = read_safetensors(file);
    const std::string name = support::printable(file.string(), support::kMaxShownPathBytes);

    auto m = std::make_unique<SavedModel>();
    m->file = file;
    m->batch = batch;
    m->card = ModelCard::from_metadata(st.metadata, name);
    const std::string where = name + " (metadata)";
    const ComponentSpec loss_spec = parse_component_spec(m->card.loss, where);
    m->loss = loss_spec.name;
    // Created only to prove the loss exists and what it trains: a model whose loss is unknown
    // cannot say how its outputs become probabilities.
    const auto loss = registry.create_as<Loss>(loss_spec);
    m->device = registry.create_as<Device>(device_spec, "--device");
    for (const auto& spec : m->card.layers) {
        const ComponentSpec cs = parse_component_spec(spec, where);
        m->model.add(registry.create_as<Layer>(cs), cs.name);
    }
    for (const auto& spec : m->card.transforms)
        m->pipeline.add(registry.create_as<Transform>(parse_component_spec(spec, where)), spec);
    if (m->model.size() == 0) throw DataError(name + ": the model has no layers");

    try {
        const Shape prepared = m->pipeline.build(m->card.input_shape, batch, m->card.divide, 0);
        m->model.build(batch_of(batch, prepared), *m->device, 0);
        m->pipeline.load_state(st.tensors);
        if (m->card.target == "values")
            m->target_scaler.load_state(m->card.target_transform, st.tensors,
                                        m->model.output_shape().numel() / batch, name);
    } catch (const Error& e) {
        throw DataError(name + ": " + e.what());
    } catch (const std::bad_alloc&) {  // sizes from the file, each within bounds, too big together
        throw DataError(name + ": the model's buffers for input_shape " +
                        m->card.input_shape.str() + " and batches of " + std::to_string(batch) +
                        " do not fit in memory (a damaged file, or give a smaller --batch)");
    }
    check_outputs(*m, *loss, name);
    check_finite(st.tensors, name);
    // Every model tensor must come from the file with its shape; nothing may be left over.
    std::size_t used = 0;
    for (const auto& w : m->model.weights()) {
        const auto it = std::find_if(st.tensors.begin(), st.tensors.end(),
                                     [&](const HostTensor& t) { return t.name == w.name; });
        if (it == st.tensors.end())
            throw DataError(name + ": tensor " + support::quote_for_message(w.name) +
                            " is missing");
        if (it->shape != w.value.shape())
            throw DataError(name + ": tensor " + support::quote_for_message(w.name) + " is " +
                            it->shape.str() + ", the model needs " + w.value.shape().str());
        m->device->upload(w.value, it->values);
        ++used;
    }
    std::size_t layer_tensors = 0;
    for (const auto& t : st.tensors) {
        if (t.name.rfind("transform", 0) == 0 || t.name.rfind("target.", 0) == 0) continue;
        if (t.name.rfind("layer", 0) != 0)
            throw DataError(name + ": unexpected tensor " + support::quote_for_message(t.name));
        ++layer_tensors;
    }
    if (layer_tensors != used)
        throw DataError(name + ": holds " + std::to_string(layer_tensors) +
                        " layer tensors, its architecture " + std::to_string(used) +
                        ": the file does not match its own metadata");
    return m;
}

}  // namespace plexus::core
