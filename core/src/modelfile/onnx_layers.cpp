// Each layer plugin's ONNX form, written from its parameters (the model card's line, validated)
// and its weights as model.safetensors holds them. The weight layouts are the plugins' own
// (their READMEs): dense kernel [in, units]; conv2d kernel [filters, C, kh, kw], ONNX's own;
// recurrent kernels [F, G*H] with Keras's gate order, which ONNX wants as [G*H, F] in its own.
#include <cmath>
#include <functional>
#include <string>

#include "onnx_graph.hpp"
#include "plexus/error.hpp"
#include "plexus/support/recurrent.hpp"
#include "plexus/support/text.hpp"
#include "plexus/support/window.hpp"

namespace plexus::core::onnx_export {
namespace {

namespace support = plexus::support;

[[noreturn]] void no_form(const LayerInput& l, const std::string& why) {
    throw Error("layer " + std::to_string(l.index) + " (" + support::printable(l.spec, 200) +
                ") has no ONNX form" + (why.empty() ? "" : ": " + why));
}

std::int64_t i64(std::size_t v) {
    return static_cast<std::int64_t>(v);
}

// A window layer's input as ONNX's Conv and pools take it: [N, C, H, W] ([H, W] is one channel).
void as_image(Graph& g) {
    if (g.sample.rank() == 2) g.reshape(Shape{1, g.sample[0], g.sample[1]});
}

std::vector<std::int64_t> pads_of(const Window2d& w) {
    // The far side gets what the last window reaches beyond the input (0 when it stops short).
    auto after = [](std::size_t out, std::size_t stride, std::size_t span, std::size_t in,
                    std::size_t before) -> std::int64_t {
        const std::int64_t reach = i64((out - 1) * stride + span);
        return std::max<std::int64_t>(0, reach - i64(in) - i64(before));
    };
    const std::size_t span_h = w.dilation_h * (w.kernel_h - 1) + 1;
    const std::size_t span_w = w.dilation_w * (w.kernel_w - 1) + 1;
    return {i64(w.pad_top), i64(w.pad_left),
            after(w.out_h, w.stride_h, span_h, w.height, w.pad_top),
            after(w.out_w, w.stride_w, span_w, w.width, w.pad_left)};
}

Window2d window_of(const Graph& g, const support::WindowSpec& spec, const char* who) {
    Shape batch{1};
    for (std::size_t i = 0; i < g.sample.rank(); ++i) batch.push_back(g.sample[i]);
    return support::make_window(batch, spec, who);
}

void dense(Graph& g, const LayerInput& l) {
    if (g.sample.rank() != 1)
        g.step(g.node("Flatten", {g.value}, {attr_int("axis", 1)}), Shape{g.sample.numel()});
    // Stored [in, units]; written [units, in] with transB=1, the form PyTorch's exporter
    // writes and OpenCV's importer expects.
    const Weight& kernel = l.weight("kernel");
    const std::size_t rows = kernel.shape[0], units = kernel.shape[1];
    std::vector<float> t(kernel.values.size());
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t u = 0; u < units; ++u) t[u * rows + r] = kernel.values[r * units + u];
    std::vector<std::string> in{g.value, g.constant("kernel", {i64(units), i64(rows)}, t)};
    if (l.params->get_bool("use_bias")) {
        const Weight& bias = l.weight("bias");
        in.push_back(g.constant("bias", dims_of(bias.shape), bias.values));
    }
    g.step(g.node("Gemm", in, {attr_int("transB", 1)}), l.output);
}

void conv2d(Graph& g, const LayerInput& l) {
    as_image(g);
    const Params& p = *l.params;
    const support::WindowSpec spec{
        support::parse_size2d(p.get_string("kernel"), "conv2d", "kernel"),
        support::parse_size2d(p.get_string("stride"), "conv2d", "stride"),
        support::parse_size2d(p.get_string("dilation"), "conv2d", "dilation"),
        support::parse_padding(p.get_string("padding"), "conv2d")};
    const Window2d w = window_of(g, spec, "conv2d");
    const Weight& kernel = l.weight("kernel");
    std::vector<std::string> in{g.value,
                                g.constant("kernel", dims_of(kernel.shape), kernel.values)};
    if (p.get_bool("use_bias")) {
        const Weight& bias = l.weight("bias");
        in.push_back(g.constant("bias", dims_of(bias.shape), bias.values));
    }
    g.step(g.node("Conv", in,
                  {attr_ints("kernel_shape", {i64(w.kernel_h), i64(w.kernel_w)}),
                   attr_ints("strides", {i64(w.stride_h), i64(w.stride_w)}),
                   attr_ints("dilations", {i64(w.dilation_h), i64(w.dilation_w)}),
                   attr_ints("pads", pads_of(w))}),
           l.output);
}

void pool(Graph& g, const LayerInput& l, const char* op) {
    as_image(g);
    const Params& p = *l.params;
    support::WindowSpec spec;
    spec.kernel = support::parse_size2d(p.get_string("size"), l.name.c_str(), "size");
    const std::string& stride = p.get_string("stride");
    spec.stride =
        stride.empty() ? spec.kernel : support::parse_size2d(stride, l.name.c_str(), "stride");
    spec.padding = support::parse_padding(p.get_string("padding"), l.name.c_str());
    const Window2d w = window_of(g, spec, l.name.c_str());
    // AveragePool's count_include_pad defaults to 0: padding is not counted, as the plugin does.
    g.step(g.node(op, {g.value},
                  {attr_ints("kernel_shape", {i64(w.kernel_h), i64(w.kernel_w)}),
                   attr_ints("strides", {i64(w.stride_h), i64(w.stride_w)}),
                   attr_ints("pads", pads_of(w))}),
           l.output);
}

void global_pool(Graph& g, const LayerInput& l, const char* op) {
    as_image(g);
    g.step(g.node(op, {g.value}), Shape{g.sample[0], 1, 1});
    g.step(g.node("Flatten", {g.value}, {attr_int("axis", 1)}), l.output);
}

// Inference with the running statistics: BatchNormalization on feature maps; elsewhere each
// value position is its own feature (the plugin's reading of [N, T, F] too), folded into
// y = x*s + t with s = gamma/sqrt(var + eps), t = beta - mean*s.
void batchnorm(Graph& g, const LayerInput& l) {
    const Params& p = *l.params;
    const float eps = static_cast<float>(p.get_real("epsilon"));
    const Weight& mean = l.weight("moving_mean");
    const Weight& var = l.weight("moving_variance");
    const std::size_t n = mean.values.size();
    std::vector<float> gamma(n, 1.0f), beta(n, 0.0f);
    if (p.get_bool("scale")) gamma = l.weight("gamma").values;
    if (p.get_bool("center")) beta = l.weight("beta").values;
    if (gamma.size() != n || beta.size() != n || var.values.size() != n)
        throw DataError("layer " + std::to_string(l.index) +
                        " (batchnorm): its tensors disagree in size");
    const bool image = g.sample.rank() == 3 && g.sample[1] * g.sample[2] > 1;
    if (image) {
        const std::vector<std::int64_t> d{i64(n)};
        g.step(g.node("BatchNormalization",
                      {g.value, g.constant("gamma", d, gamma), g.constant("beta", d, beta),
                       g.constant("mean", d, mean.values), g.constant("var", d, var.values)},
                      {attr_float("epsilon", eps)}),
               l.output);
        return;
    }
    if (n != g.sample.numel())
        throw DataError("layer " + std::to_string(l.index) + " (batchnorm): " + std::to_string(n) +
                        " statistics for samples of " + g.sample.str());
    std::vector<float> s(n), t(n);
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<float>(double(gamma[i]) / std::sqrt(double(var.values[i]) + eps));
        t[i] = static_cast<float>(double(beta[i]) - double(mean.values[i]) * s[i]);
    }
    // Per-sample dims, no leading 1: OpenCV 4.6 fails an Add whose constant has one.
    const auto d = dims_of(g.sample);
    const std::string y = g.node("Mul", {g.value, g.constant("scale", d, s)});
    g.step(g.node("Add", {y, g.constant("shift", d, t)}), l.output);
}

void softmax(Graph& g, const LayerInput& l) {
    // The plugin normalises each sample over all its values.
    const Shape sample = g.sample;
    if (sample.rank() != 1)
        g.step(g.node("Flatten", {g.value}, {attr_int("axis", 1)}), Shape{sample.numel()});
    g.step(g.node("Softmax", {g.value}, {attr_int("axis", 1)}), g.sample);
    g.reshape(l.output);
}

std::string onnx_activation(const LayerInput& l, const std::string& key) {
    const std::string& a = l.params->get_string(key);
    if (a == "tanh") return "Tanh";
    if (a == "sigmoid") return "Sigmoid";
    if (a == "relu") return "Relu";
    no_form(l,
            key + "=" + a + " (the exporter writes recurrent layers with tanh, sigmoid or relu)");
}

// Keras's gate blocks (the columns of [rows, G*H]) as ONNX's rows [G*H, rows], gate k of ONNX
// taken from block order[k] of ours.
std::vector<float> gates_to_rows(const Weight& w, std::size_t h,
                                 const std::vector<std::size_t>& order) {
    const std::size_t rows = w.shape[0], g = order.size();
    std::vector<float> out(g * h * rows);
    for (std::size_t k = 0; k < g; ++k)
        for (std::size_t j = 0; j < h; ++j)
            for (std::size_t r = 0; r < rows; ++r)
                out[(k * h + j) * rows + r] = w.values[r * g * h + order[k] * h + j];
    return out;
}

std::vector<float> gate_vector(const float* v, std::size_t h,
                               const std::vector<std::size_t>& order) {
    std::vector<float> out(order.size() * h);
    for (std::size_t k = 0; k < order.size(); ++k)
        for (std::size_t j = 0; j < h; ++j) out[k * h + j] = v[order[k] * h + j];
    return out;
}

// The ONNX op of a recurrent plugin and its gate order: gate k of ONNX is block order[k] of
// ours.
struct Cell {
    const char* op;
    std::vector<std::size_t> order;
    bool split_bias;  // GRU: [2, G*H], input then recurrent bias
};

// simple_rnn (ONNX RNN), LSTM (gates i, f, c, o here; i, o, f, c in ONNX) and GRU (z, r, h in
// both; reset_after is ONNX's linear_before_reset=1). A Keras-style RNN or LSTM has one bias,
// ONNX's input bias; its recurrent bias is zero.
void recurrent(Graph& g, const LayerInput& l, const Cell& cell) {
    const Params& p = *l.params;
    const std::size_t h = static_cast<std::size_t>(p.get_int("units"));
    const std::size_t steps = g.sample[0], features = g.sample[1];
    const bool both = p.get_bool("bidirectional");
    const std::vector<std::size_t>& order = cell.order;
    const std::size_t gh = order.size() * h, dirs = both ? 2 : 1;
    std::vector<float> w, r, b;
    for (std::size_t d = 0; d < dirs; ++d) {
        const std::string prefix = !both ? "" : d == 0 ? "forward_" : "backward_";
        const auto wk = gates_to_rows(l.weight(prefix + "kernel"), h, order);
        const auto rk = gates_to_rows(l.weight(prefix + "recurrent_kernel"), h, order);
        w.insert(w.end(), wk.begin(), wk.end());
        r.insert(r.end(), rk.begin(), rk.end());
        std::vector<float> bias(2 * gh, 0.0f);
        if (p.get_bool("use_bias")) {
            const Weight& bw = l.weight(prefix + "bias");
            const auto input = gate_vector(bw.values.data(), h, order);
            std::copy(input.begin(), input.end(), bias.begin());
            if (cell.split_bias) {
                const auto rec = gate_vector(bw.values.data() + gh, h, order);
                std::copy(rec.begin(), rec.end(), bias.begin() + i64(gh));
            }
        }
        b.insert(b.end(), bias.begin(), bias.end());
    }
    // ONNX's activations per direction: f, g, h for LSTM (gates, candidate, output), f, g for
    // GRU, f for RNN; the defaults are Sigmoid and Tanh.
    const bool rnn = order.size() == 1, lstm = order.size() == 4;
    const std::string act = onnx_activation(l, "activation");
    const std::string gate = rnn ? act : onnx_activation(l, "recurrent_activation");
    std::vector<std::string> acts;
    for (std::size_t d = 0; d < dirs; ++d) {
        if (!rnn) acts.push_back(gate);
        acts.push_back(act);
        if (lstm) acts.push_back(act);
    }
    std::vector<Attr> attrs{attr_int("hidden_size", i64(h)),
                            attr_strings("direction", {both ? "bidirectional" : "forward"}, true)};
    if (cell.split_bias) attrs.push_back(attr_int("linear_before_reset", 1));
    const bool defaults = (rnn || gate == "Sigmoid") && act == "Tanh";
    if (!defaults) attrs.push_back(attr_strings("activations", acts));
    const std::string x = g.node("Transpose", {g.value}, {attr_ints("perm", {1, 0, 2})});
    const std::int64_t n_dirs = i64(dirs);
    std::vector<std::string> outs;
    g.node(
        cell.op,
        {x, g.constant("W", {n_dirs, i64(gh), i64(features)}, w),
         g.constant("R", {n_dirs, i64(gh), i64(h)}, r), g.constant("B", {n_dirs, i64(2 * gh)}, b)},
        attrs, lstm ? 3 : 2, &outs);
    if (p.get_bool("return_sequences")) {  // Y [T, D, N, H] -> [N, T, D*H]
        g.step(g.node("Transpose", {outs[0]}, {attr_ints("perm", {2, 0, 1, 3})}),
               Shape{steps, dirs, h});
    } else {  // Y_h [D, N, H] -> [N, D*H]
        g.step(g.node("Transpose", {outs[1]}, {attr_ints("perm", {1, 0, 2})}), Shape{dirs, h});
    }
    g.reshape(l.output);
}

}  // namespace

const Weight& LayerInput::weight(const std::string& n) const {
    const auto it = weights->find("layer" + std::to_string(index) + "." + n);
    if (it == weights->end())
        throw DataError("layer " + std::to_string(index) + " (" + name +
                        "): the model holds no tensor '" + n + "'");
    return it->second;
}

void add_layer(Graph& g, const LayerInput& l) {
    const std::string& n = l.name;
    const auto unary = [&](const char* op, std::vector<Attr> attrs = {}) {
        g.step(g.node(op, {g.value}, attrs), l.output);
    };
    if (n == "dense") return dense(g, l);
    if (n == "relu") return unary("Relu");
    if (n == "sigmoid") return unary("Sigmoid");
    if (n == "tanh") return unary("Tanh");
    if (n == "leaky_relu")
        return unary("LeakyRelu",
                     {attr_float("alpha", static_cast<float>(l.params->get_real("alpha")))});
    if (n == "elu")
        return unary("Elu", {attr_float("alpha", static_cast<float>(l.params->get_real("alpha")))});
    if (n == "softmax") return softmax(g, l);
    if (n == "linear" || n == "dropout") return;  // dropout is the identity at inference
    if (n == "batchnorm") return batchnorm(g, l);
    if (n == "conv2d") return conv2d(g, l);
    if (n == "max_pool2d") return pool(g, l, "MaxPool");
    if (n == "avg_pool2d") return pool(g, l, "AveragePool");
    if (n == "global_max_pool2d") return global_pool(g, l, "GlobalMaxPool");
    if (n == "global_avg_pool2d") return global_pool(g, l, "GlobalAveragePool");
    if (n == "flatten" || n == "reshape") return g.reshape(l.output);
    if (n == "simple_rnn") return recurrent(g, l, {"RNN", {0}, false});
    if (n == "lstm") return recurrent(g, l, {"LSTM", {0, 3, 1, 2}, false});
    if (n == "gru") return recurrent(g, l, {"GRU", {0, 1, 2}, true});
    no_form(l, "");
}

}  // namespace plexus::core::onnx_export
