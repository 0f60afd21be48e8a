// plexus export --onnx: the saved model as one ONNX graph, raw sample in, predict's output out.
//
// Transforms are plugins whose arithmetic the core does not know, so each one is measured: it
// is recreated from its line with its saved state and run on probe samples. A transform that
// maps every value position by y = a*x + b (scale, standardize, divide, augmentation, which is
// the identity at inference) becomes Mul and Add nodes; one that is not affine on a third probe,
// or that changes the sample shape (resize, grayscale), is refused by name.
#include "plexus/core/modelfile/onnx_export.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "onnx_graph.hpp"
#include "plexus/core/modelfile/safetensors.hpp"
#include "plexus/export.hpp"
#include "plexus/support/files.hpp"
#include "plexus/support/text.hpp"

namespace plexus::core {
namespace onnx_export {

std::vector<std::int64_t> dims_of(const Shape& shape) {
    std::vector<std::int64_t> d;
    for (std::size_t i = 0; i < shape.rank(); ++i) d.push_back(static_cast<std::int64_t>(shape[i]));
    return d;
}

std::string Graph::fresh(const std::string& hint) {
    return hint + "_" + std::to_string(counter_++);
}

std::string Graph::constant(const std::string& hint, const std::vector<std::int64_t>& dims,
                            const std::vector<float>& values) {
    ::onnx::TensorProto* t = graph_->add_initializer();
    t->set_name(fresh(hint));
    t->set_data_type(::onnx::TensorProto::FLOAT);
    for (const auto d : dims) t->add_dims(d);
    t->set_raw_data(values.data(), values.size() * sizeof(float));  // little-endian, as ONNX's
    return t->name();
}

std::string Graph::int64s(const std::string& hint, const std::vector<std::int64_t>& values) {
    ::onnx::TensorProto* t = graph_->add_initializer();
    t->set_name(fresh(hint));
    t->set_data_type(::onnx::TensorProto::INT64);
    t->add_dims(static_cast<std::int64_t>(values.size()));
    for (const auto v : values) t->add_int64_data(v);
    return t->name();
}

std::string Graph::node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<Attr>& attrs, std::size_t outputs,
                        std::vector<std::string>* all_outputs) {
    ::onnx::NodeProto* n = graph_->add_node();
    n->set_op_type(op);
    n->set_name(fresh(op));
    for (const auto& in : inputs) n->add_input(in);
    for (std::size_t i = 0; i < outputs; ++i) {
        n->add_output(n->name() + "_out" + std::to_string(i));
        if (all_outputs) all_outputs->push_back(n->output(static_cast<int>(i)));
    }
    for (const Attr& a : attrs) {
        ::onnx::AttributeProto* p = n->add_attribute();
        p->set_name(a.name);
        switch (a.kind) {
            case Attr::Kind::i:
                p->set_type(::onnx::AttributeProto::INT), p->set_i(a.i);
                break;
            case Attr::Kind::f:
                p->set_type(::onnx::AttributeProto::FLOAT), p->set_f(a.f);
                break;
            case Attr::Kind::ints:
                p->set_type(::onnx::AttributeProto::INTS);
                for (const auto v : a.ints) p->add_ints(v);
                break;
            case Attr::Kind::s:
                p->set_type(::onnx::AttributeProto::STRING);
                p->set_s(a.strings.at(0));
                break;
            case Attr::Kind::strings:
                p->set_type(::onnx::AttributeProto::STRINGS);
                for (const auto& s : a.strings) p->add_strings(s);
                break;
        }
    }
    return n->output(0);
}

void Graph::reshape(const Shape& dims) {
    if (dims == sample) return;
    std::vector<std::int64_t> to{-1};  // the batch, whatever it is
    for (const auto d : dims_of(dims)) to.push_back(d);
    step(node("Reshape", {value, int64s("shape", to)}), dims);
}

}  // namespace onnx_export

namespace {

using onnx_export::Graph;

struct Affine {
    std::vector<float> a, b;
    bool identity() const {
        return std::all_of(a.begin(), a.end(), [](float v) { return v == 1.0f; }) &&
               std::all_of(b.begin(), b.end(), [](float v) { return v == 0.0f; });
    }
};

// Transform `index` alone, with its saved state, for samples of `sample` shape.
Affine probe_transform(const OnnxExportRequest& r, const std::vector<HostTensor>& saved,
                       std::size_t index, const Shape& sample) {
    const std::string spec = r.model->card.transforms[index];
    const std::string who =
        "transform " + std::to_string(index) + " (" + support::printable(spec, 200) + ")";
    Pipeline p;
    p.add(r.registry->create_as<Transform>(parse_component_spec(spec, who)), spec);
    if (p.build(sample, 3, 1.0f, 0) != sample)
        throw Error(who + " has no ONNX form: it changes the sample shape " + sample.str() +
                    " (export a model trained without it, and prepare its inputs beforehand)");
    const std::string prefix = "transform" + std::to_string(index) + ".";
    std::vector<HostTensor> own;
    for (const HostTensor& t : saved)
        if (t.name.rfind(prefix, 0) == 0)
            own.push_back({"transform0." + t.name.substr(prefix.size()), t.shape, t.values});
    p.load_state(own);

    // Probes: 0 gives b; a large P gives a with little cancellation (P = 1 if that overflows);
    // a third, varied sample checks the map is affine at all.
    const std::size_t f = sample.numel();
    Dataset d;
    d.source = who;
    d.sample_shape = sample;
    d.count = 3;
    Affine out{std::vector<float>(f), std::vector<float>(f)};
    std::vector<float> y(3 * f);
    const std::uint32_t ids[3] = {0, 1, 2};
    for (const float big : {65536.0f, 1.0f}) {
        d.f32.assign(3 * f, 0.0f);
        for (std::size_t i = 0; i < f; ++i) {
            d.f32[f + i] = big;
            d.f32[2 * f + i] = 0.25f + static_cast<float>(i % 7) * 0.5f;
        }
        p.prepare(d, ids, 3, Mode::infer, 0, y.data());
        bool finite = true;
        for (std::size_t i = 0; i < f; ++i) {
            out.b[i] = y[i];
            out.a[i] = static_cast<float>((double(y[f + i]) - y[i]) / big);
            finite &= std::isfinite(out.a[i]) && std::isfinite(out.b[i]);
        }
        if (finite) break;
    }
    for (std::size_t i = 0; i < f; ++i) {
        const double x = d.f32[2 * f + i], want = double(out.a[i]) * x + out.b[i];
        const double scale = 1.0 + std::abs(want) + std::abs(double(out.b[i]));
        if (!(std::abs(y[2 * f + i] - want) <= 1e-4 * scale))
            throw Error(who + " has no ONNX form: it is not y = a*x + b per value (value " +
                        std::to_string(i) + " of a probe sample)");
    }
    return out;
}

void add_transforms(Graph& g, const OnnxExportRequest& r) {
    const ModelCard& card = r.model->card;
    // uint8 samples are gathered as x * (1/divide) before any transform: the same float product.
    // Per-sample dims, broadcast over the batch (OpenCV 4.6 fails an Add whose constant has
    // a leading 1).
    const std::vector<std::int64_t> dims = onnx_export::dims_of(g.sample);
    if (r.uint8 && card.divide != 1.0f)
        g.step(
            g.node("Mul",
                   {g.value, g.constant("divide", dims,
                                        std::vector<float>(g.sample.numel(), 1.0f / card.divide))}),
            g.sample);
    if (card.transforms.empty()) return;
    const std::vector<HostTensor> saved = read_safetensors(r.model->file).tensors;
    for (std::size_t i = 0; i < card.transforms.size(); ++i) {
        const Affine t = probe_transform(r, saved, i, g.sample);
        if (t.identity()) continue;
        const std::string x =
            g.node("Mul", {g.value, g.constant("transform" + std::to_string(i) + "_a", dims, t.a)});
        g.step(g.node("Add", {x, g.constant("transform" + std::to_string(i) + "_b", dims, t.b)}),
               g.sample);
    }
}

void add_layers(Graph& g, const OnnxExportRequest& r) {
    const SavedModel& m = *r.model;
    std::map<std::string, onnx_export::Weight> weights;
    for (const NamedTensor& w : m.model.weights()) {
        onnx_export::Weight& out = weights[w.name];
        out.shape = w.value.shape();
        out.values.resize(out.shape.numel());
        m.device->download(w.value, out.values);
    }
    for (std::size_t i = 0; i < m.card.layers.size(); ++i) {
        const std::string& spec = m.card.layers[i];
        const ComponentSpec cs = parse_component_spec(spec, m.file.string());
        const Params params = Registry::validate(r.registry->require(Kind::layer, cs.name), cs);
        // The layer's output shape, from the plugin itself.
        const Shape built =
            r.registry->create_as<Layer>(cs)->build(batch_of(1, g.sample), *m.device, {});
        Shape output;
        for (std::size_t k = 1; k < built.rank(); ++k) output.push_back(built[k]);
        onnx_export::LayerInput layer{i, cs.name, spec, &params, &weights, output};
        onnx_export::add_layer(g, layer);
    }
}

// What predict does to the last layer's output, per sample: softmax or sigmoid for classes,
// the target transform inverted for values, nothing for an autoencoder's reconstruction.
std::string add_output(Graph& g, const SavedModel& m) {
    if (g.sample.rank() != 1) g.reshape(Shape{g.sample.numel()});
    const std::size_t cols = g.sample.numel();
    if (m.card.target == "classes") {
        if (m.loss == "softmax_cross_entropy" && cols > 1)
            g.step(g.node("Softmax", {g.value}, {onnx_export::attr_int("axis", 1)}), g.sample);
        else if (m.loss == "binary_cross_entropy" || m.loss == "softmax_cross_entropy")
            g.step(g.node("Sigmoid", {g.value}), g.sample);
        return "probabilities";
    }
    if (m.card.target == "input") return "reconstruction";
    const TargetScaler& t = m.target_scaler;
    if (!t.is_identity()) {
        const std::vector<std::int64_t> d{static_cast<std::int64_t>(cols)};
        const std::string x = g.node("Mul", {g.value, g.constant("target_scale", d, t.scale())});
        g.step(g.node("Add", {x, g.constant("target_offset", d, t.offset())}), g.sample);
    }
    return "values";
}

void declare(::onnx::ValueInfoProto* v, const std::string& name, const Shape& sample) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(::onnx::TensorProto::FLOAT);
    t->mutable_shape()->add_dim()->set_dim_param("batch");
    for (std::size_t i = 0; i < sample.rank(); ++i)
        t->mutable_shape()->add_dim()->set_dim_value(static_cast<std::int64_t>(sample[i]));
}

void add_metadata(::onnx::ModelProto& model, const ModelCard& card) {
    auto put = [&](const std::string& key, const std::string& value) {
        auto* p = model.add_metadata_props();
        p->set_key(key);
        p->set_value(value);
    };
    const auto meta = card.to_metadata();
    for (const char* key :
         {"classes", "class_names", "target", "target_names", "transforms", "layers"})
        if (const auto it = meta.find(key); it != meta.end()) put(key, it->second);
}

}  // namespace

OnnxExportResult export_onnx(const OnnxExportRequest& r) {
    if (r.opset < kOnnxMinOpset || r.opset > kOnnxMaxOpset)
        throw ConfigError("--opset " + std::to_string(r.opset) + " is outside " +
                          std::to_string(kOnnxMinOpset) + ".." + std::to_string(kOnnxMaxOpset) +
                          " (the opsets the ONNX release it is built with knows)");
    const SavedModel& m = *r.model;
    ::onnx::ModelProto model;
    model.set_ir_version(::onnx::IR_VERSION);
    model.set_producer_name("plexus");
    model.set_producer_version(PLEXUS_VERSION_STRING);
    auto* opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(r.opset);
    ::onnx::GraphProto* graph = model.mutable_graph();
    graph->set_name(m.card.experiment.empty() ? "plexus" : m.card.experiment);
    declare(graph->add_input(), "input", m.card.input_shape);

    Graph g(graph);
    g.step("input", m.card.input_shape);
    add_transforms(g, r);
    add_layers(g, r);
    const std::string output = add_output(g, m);
    // The running value becomes the graph's output: the last node's output is renamed (an
    // Identity is added when no node made the running value, e.g. a model of dropout alone).
    if (graph->node_size() == 0 || graph->node(graph->node_size() - 1).output(0) != g.value)
        g.step(g.node("Identity", {g.value}), g.sample);
    auto* last = graph->mutable_node(graph->node_size() - 1);
    last->set_output(0, output);
    declare(graph->add_output(), output, g.sample);
    add_metadata(model, m.card);

    std::string bytes;
    if (!model.SerializeToString(&bytes)) throw Error("the ONNX graph could not be serialised");
    support::write_file_atomic(r.out, bytes);
    return {g.nodes(), g.initializers(),
            "[batch" + (m.card.input_shape.rank() ? ", " + m.card.input_shape.str().substr(1)
                                                  : std::string("]")),
            output};
}

}  // namespace plexus::core

extern "C" __attribute__((visibility("default"))) void plexus_export_onnx(
    const plexus::core::OnnxExportRequest& request, plexus::core::OnnxExportResult& result) {
    result = plexus::core::export_onnx(request);
}
