// The ONNX graph as the exporter grows it: one running value (its name and per-sample shape)
// that each step replaces, initializers for weights, and nodes with their attributes. Shared
// by onnx_export.cpp (transforms, outputs, the file) and onnx_layers.cpp (one step per layer).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "plexus/params.hpp"
#include "plexus/shape.hpp"

namespace plexus::core::onnx_export {

/// An attribute of a node: an int, ints, a float, a string or strings.
struct Attr {
    enum class Kind { i, ints, f, s, strings };
    std::string name;
    Kind kind = Kind::i;
    std::int64_t i = 0;
    std::vector<std::int64_t> ints;
    float f = 0.0f;
    std::vector<std::string> strings;  // one for Kind::s
};
inline Attr attr_int(std::string name, std::int64_t v) {
    Attr a;
    a.name = std::move(name);
    a.kind = Attr::Kind::i;
    a.i = v;
    return a;
}
inline Attr attr_ints(std::string name, std::vector<std::int64_t> v) {
    Attr a;
    a.name = std::move(name);
    a.kind = Attr::Kind::ints;
    a.ints = std::move(v);
    return a;
}
inline Attr attr_float(std::string name, float v) {
    Attr a;
    a.name = std::move(name);
    a.kind = Attr::Kind::f;
    a.f = v;
    return a;
}
inline Attr attr_strings(std::string name, std::vector<std::string> v, bool one = false) {
    Attr a;
    a.name = std::move(name);
    a.kind = one ? Attr::Kind::s : Attr::Kind::strings;
    a.strings = std::move(v);
    return a;
}

class Graph {
public:
    explicit Graph(::onnx::GraphProto* graph) : graph_(graph) {}

    /// A float initializer of `dims` (numel(dims) == values.size()); returns its name.
    std::string constant(const std::string& hint, const std::vector<std::int64_t>& dims,
                         const std::vector<float>& values);
    /// An int64 initializer of one dimension (shapes, axes, permutations).
    std::string int64s(const std::string& hint, const std::vector<std::int64_t>& values);
    /// Adds a node; returns the name of its first output (`outputs` more are made when > 1).
    std::string node(const std::string& op, const std::vector<std::string>& inputs,
                     const std::vector<Attr>& attrs = {}, std::size_t outputs = 1,
                     std::vector<std::string>* all_outputs = nullptr);

    /// The running value: its name and one sample's shape (the batch dimension comes first in
    /// the graph and is left dynamic).
    std::string value;
    Shape sample;
    /// Replaces the running value by a node's output of per-sample shape `shape`.
    void step(std::string name, Shape shape) {
        value = std::move(name);
        sample = std::move(shape);
    }
    /// The running value reshaped to [batch, dims...] (a no-op when it already is).
    void reshape(const Shape& dims);

    std::size_t nodes() const { return static_cast<std::size_t>(graph_->node_size()); }
    std::size_t initializers() const {
        return static_cast<std::size_t>(graph_->initializer_size());
    }

private:
    std::string fresh(const std::string& hint);
    ::onnx::GraphProto* graph_;
    std::size_t counter_ = 0;
};

/// `dims` as ONNX int64 dimensions.
std::vector<std::int64_t> dims_of(const Shape& shape);

/// A trained tensor as the model file holds it.
struct Weight {
    Shape shape;
    std::vector<float> values;
};

/// One layer of the model, as the layer steps see it.
struct LayerInput {
    std::size_t index = 0;
    std::string name;                              // component name: "dense"
    std::string spec;                              // its line, for messages
    const Params* params = nullptr;                // validated, defaults filled
    const std::map<std::string, Weight>* weights;  // "layerI.NAME" -> values
    Shape output;                                  // the layer's per-sample output shape

    /// Weight "layerI.`name`"; throws DataError when the file lacks it.
    const Weight& weight(const std::string& name) const;
};

/// Appends the nodes of one layer to `g` (whose running value is the layer's input) and
/// leaves its output as the running value. Throws Error "layer I (SPEC) has no ONNX form"
/// for a layer (or a setting) the exporter cannot write.
void add_layer(Graph& g, const LayerInput& layer);

}  // namespace plexus::core::onnx_export
