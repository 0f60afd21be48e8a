#include "plexus/support/recurrent.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "plexus/error.hpp"
#include "plexus/support/weights.hpp"

namespace plexus::support {

UnaryOp parse_activation(const std::string& name) {
    if (name == "tanh") return UnaryOp::tanh;
    if (name == "sigmoid") return UnaryOp::sigmoid;
    if (name == "relu") return UnaryOp::relu;
    if (name == "linear") return UnaryOp::identity;
    throw ParamError("unknown activation '" + name + "' (choose " + detail::kActivations + ")");
}

void activation_backward(Device& device, UnaryOp op, const Tensor& dy, const Tensor& y,
                         const Tensor& dx) {
    switch (op) {
        case UnaryOp::tanh: return device.binary(BinaryOp::tanh_backward, dy, y, dx);
        case UnaryOp::sigmoid: return device.binary(BinaryOp::sigmoid_backward, dy, y, dx);
        // relu(x) > 0 exactly where x > 0, so the output serves as relu_backward's input.
        case UnaryOp::relu: return device.binary(BinaryOp::relu_backward, dy, y, dx);
        case UnaryOp::identity: return device.copy(dy, dx);
        default: break;
    }
    throw DeviceError("activation_backward: " + std::string(op_name(op)) +
                      " is not a recurrent activation (tanh, sigmoid, relu, linear)");
}

void initialise_orthogonal(Device& device, const Tensor& kernel, std::uint64_t seed,
                           std::uint64_t counter) {
    const std::size_t rows = kernel.rows(), cols = kernel.cols();
    device.random(Distribution::normal, seed, counter, kernel, 0.0f, 1.0f);
    std::vector<float> drawn(kernel.numel());
    device.download(kernel, drawn);
    // Keras reads the draw as a [big, small] matrix and orthonormalises its columns.
    const std::size_t big = std::max(rows, cols), small = std::min(rows, cols);
    std::vector<double> q(big * small);  // column j at q[j * big]
    for (std::size_t i = 0; i < big; ++i)
        for (std::size_t j = 0; j < small; ++j) q[j * big + i] = drawn[i * small + j];
    for (std::size_t j = 0; j < small; ++j) {
        double* qj = &q[j * big];
        // Modified Gram-Schmidt, twice: one pass loses orthogonality in float-sized steps.
        for (int pass = 0; pass < 2; ++pass)
            for (std::size_t k = 0; k < j; ++k) {
                const double* qk = &q[k * big];
                double dot = 0.0;
                for (std::size_t i = 0; i < big; ++i) dot += qk[i] * qj[i];
                for (std::size_t i = 0; i < big; ++i) qj[i] -= dot * qk[i];
            }
        double norm = 0.0;
        for (std::size_t i = 0; i < big; ++i) norm += qj[i] * qj[i];
        norm = std::sqrt(norm);
        if (!(norm > 1e-12))
            throw DeviceError("orthogonal initialisation: the normal draw for a " +
                              kernel.shape().str() + " kernel is rank deficient");
        for (std::size_t i = 0; i < big; ++i) qj[i] /= norm;
    }
    std::vector<float> out(rows * cols);
    for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < cols; ++j)
            out[i * cols + j] = static_cast<float>(rows >= cols ? q[j * big + i] : q[i * big + j]);
    device.upload(kernel, out);
}

namespace {

RecurrentOptions read_options(const Params& params) {
    RecurrentOptions o;
    o.units = static_cast<std::size_t>(params.get_int("units"));
    o.return_sequences = params.get_bool("return_sequences");
    o.bidirectional = params.get_bool("bidirectional");
    o.use_bias = params.get_bool("use_bias");
    o.trainable = params.get_bool("trainable");
    o.fused = !params.has("fused") || params.get_bool("fused");  // simple_rnn has no keys
    o.l1 = static_cast<float>(params.get_real("l1"));
    o.l2 = static_cast<float>(params.get_real("l2"));
    o.activation = parse_activation(params.get_string("activation"));
    if (params.has("recurrent_activation"))  // simple_rnn has no gates
        o.recurrent_activation = parse_activation(params.get_string("recurrent_activation"));
    return o;
}

// A second, unrelated seed for the backward direction's input kernel.
std::uint64_t mix(std::uint64_t seed) {
    std::uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

Parameter make_parameter(Device& device, const std::string& name, const Shape& shape,
                         bool trainable) {
    Parameter p;
    p.name = name;
    p.value = device.alloc(shape);
    p.grad = device.alloc(shape);
    p.trainable = trainable;
    device.fill(p.grad, 0.0f);  // a frozen layer never writes it
    return p;
}

}  // namespace

// Weights per direction, and workspaces for max_rows samples. Time-major sequence buffers
// hold T blocks of max_rows rows; a batch of n rows uses the first T*n rows as T blocks of n.
struct RecurrentLayer::State {
    struct Direction {
        Parameter kernel, recurrent_kernel, bias;
        Tensor proj;       // [T*N, G*H]: the gates of every step
        Tensor recurrent;  // split_recurrent: [T*N, G*H]
    };
    std::vector<Direction> directions;
    std::size_t steps = 0, features = 0, max_rows = 0, units = 0, gates = 0;
    std::size_t forward_rows = 0;  // the batch of the last forward; 0 before one
    Tensor xt, dxt;                // [T*N, F]: the input, time-major, and its gradient
    Tensor hseq, dh, cseq;         // [D*T*N, H]: h (and c) at every position, dL/dh
    Tensor dgates, drecurrent;     // [T*N, G*H], reused by each direction
    Tensor zeros, sink, dc;        // [N, H]: the state before the first step; dL/dh_prev of
                                   // the first step (not needed); the cell-state carry
    Tensor pair;                   // bidirectional: [T*N, 2H], or [2N, H] for the last states

    // The input bias [G*H] (the first row of a split bias).
    Tensor input_bias(const Direction& dir) const {
        return dir.bias.value.reshaped({dir.bias.value.numel()}).rows(0, gates * units);
    }
    Tensor recurrent_bias(const Direction& dir) const {
        return dir.bias.value.reshaped({dir.bias.value.numel()}).rows(gates * units,
                                                                      gates * units);
    }
};

RecurrentLayer::RecurrentLayer(const CellSpec& cell, const Params& params)
    : cell_(cell), options_(read_options(params)) {}

RecurrentLayer::~RecurrentLayer() = default;

void RecurrentLayer::build_scratch(Device&, std::size_t, std::size_t) {}

void RecurrentLayer::require_ran(bool ran) const {
    if (!ran)
        throw DeviceError(std::string(cell_.name) +
                          ": the device declined a fused key it listed in fused_keys() at build");
}

void RecurrentLayer::init_bias(Device& device, const Tensor& bias) const {
    device.fill(bias, 0.0f);
}

Shape RecurrentLayer::build(const Shape& input, Device& device, const BuildContext& context) {
    const std::string name = cell_.name;
    if (input.rank() != 3 || input[1] == 0 || input[2] == 0)
        throw ShapeError(name + ": expected input [batch, time, features] (a sequence [T, F] " +
                         "per sample), got " + input.str());
    state_ = std::make_unique<State>();
    State& s = *state_;
    s.steps = input[1];
    s.features = input[2];
    s.max_rows = std::max<std::size_t>(input.rows(), 1);
    s.units = options_.units;
    s.gates = cell_.gates;
    fused_ = options_.fused && device_has_fused_cell(device);
    const std::size_t dirs = options_.bidirectional ? 2 : 1, h = s.units, gh = s.gates * h;
    const std::size_t seq = s.steps * s.max_rows;
    for (std::size_t d = 0; d < dirs; ++d) {
        const std::string prefix = dirs == 1 ? "" : d == 0 ? "forward_" : "backward_";
        State::Direction dir;
        dir.kernel = make_parameter(device, prefix + "kernel", {s.features, gh},
                                    options_.trainable);
        initialise_kernel(device, dir.kernel.value, KernelInit{Init::glorot_uniform},
                          static_cast<double>(s.features), static_cast<double>(gh),
                          d == 0 ? context.seed : mix(context.seed));
        dir.recurrent_kernel = make_parameter(device, prefix + "recurrent_kernel", {h, gh},
                                              options_.trainable);
        initialise_orthogonal(device, dir.recurrent_kernel.value, context.seed, 1 + d);
        for (Parameter* p : {&dir.kernel, &dir.recurrent_kernel}) {
            p->l1 = options_.l1;
            p->l2 = options_.l2;
        }
        if (options_.use_bias) {
            dir.bias = make_parameter(device, prefix + "bias",
                                      cell_.split_recurrent ? Shape{2, gh} : Shape{gh},
                                      options_.trainable);
            init_bias(device, dir.bias.value);
        }
        dir.proj = device.alloc({seq, gh});
        if (cell_.split_recurrent) dir.recurrent = device.alloc({seq, gh});
        s.directions.push_back(std::move(dir));
    }
    s.xt = device.alloc({seq, s.features});
    s.dxt = device.alloc({seq, s.features});
    s.hseq = device.alloc({dirs * seq, h});
    s.dh = device.alloc({dirs * seq, h});
    if (cell_.cell_state) {
        s.cseq = device.alloc({dirs * seq, h});
        s.dc = device.alloc({s.max_rows, h});
    }
    s.dgates = device.alloc({seq, gh});
    if (cell_.split_recurrent) s.drecurrent = device.alloc({seq, gh});
    s.zeros = device.alloc({s.max_rows, h});
    s.sink = device.alloc({s.max_rows, h});
    device.fill(s.zeros, 0.0f);
    device.fill(s.sink, 0.0f);
    if (dirs == 2)
        s.pair = options_.return_sequences ? device.alloc({seq, 2 * h})
                                           : device.alloc({2 * s.max_rows, h});
    if (!fused_) build_scratch(device, s.max_rows, h);
    if (options_.return_sequences) return {input.rows(), s.steps, dirs * h};
    return {input.rows(), dirs * h};
}

std::vector<Parameter*> RecurrentLayer::parameters() {
    std::vector<Parameter*> out;
    if (!state_) return out;
    for (State::Direction& dir : state_->directions) {
        out.push_back(&dir.kernel);
        out.push_back(&dir.recurrent_kernel);
        if (options_.use_bias) out.push_back(&dir.bias);
    }
    return out;
}

void RecurrentLayer::set_trainable(bool trainable) {
    options_.trainable = trainable;  // backward() reads it to skip the weight gradients
    Layer::set_trainable(trainable);
}

void RecurrentLayer::check_input(const Tensor& x, const char* pass) const {
    const std::string name = cell_.name;
    if (!state_) throw ShapeError(name + ": " + pass + " called before build()");
    const State& s = *state_;
    if (x.rows() > s.max_rows || x.cols() != s.steps * s.features)
        throw ShapeError(name + ": built for [" + std::to_string(s.max_rows) + ", " +
                         std::to_string(s.steps) + ", " + std::to_string(s.features) +
                         "] (at most that batch), got " + x.shape().str());
}

namespace {
void check_numel(const char* cell, const char* what, const Tensor& t, std::size_t want) {
    if (t.numel() != want)
        throw ShapeError(std::string(cell) + ": " + what + " has shape " + t.shape().str() +
                         ", " + std::to_string(want) + " elements expected");
}
}  // namespace

void RecurrentLayer::forward(const Tensor& x, const Tensor& y, Mode) {
    check_input(x, "forward");
    State& s = *state_;
    const std::size_t n = x.rows(), dirs = s.directions.size();
    check_numel(cell_.name, "y", y,
                n * (options_.return_sequences ? s.steps : 1) * dirs * s.units);
    s.forward_rows = n;
    if (n == 0) return;
    Device& device = *x.device();
    device.transpose(x, s.xt.rows(0, s.steps * n), 1, n, s.steps, s.features);
    for (std::size_t d = 0; d < dirs; ++d) run_direction(device, d, n);
    write_output(device, n, y);
}

void RecurrentLayer::backward(const Tensor& x, const Tensor&, const Tensor& dy,
                              const Tensor* dx) {
    check_input(x, "backward");
    State& s = *state_;
    const std::size_t n = x.rows(), dirs = s.directions.size();
    if (s.forward_rows != n)
        throw ShapeError(std::string(cell_.name) +
                         ": backward needs a forward of the same batch first");
    check_numel(cell_.name, "dy", dy,
                n * (options_.return_sequences ? s.steps : 1) * dirs * s.units);
    if (dx) check_numel(cell_.name, "dx", *dx, x.numel());
    if (n == 0 || (!options_.trainable && !dx)) return;
    Device& device = *x.device();
    read_output_gradient(device, n, dy);
    for (std::size_t d = 0; d < dirs; ++d) backprop_direction(device, d, n, dx != nullptr);
    if (dx) device.transpose(s.dxt.rows(0, s.steps * n), *dx, 1, s.steps, n, s.features);
}

// The tensors of the k-th step of direction d, at position t = k (forward) or T-1-k
// (backward); the previous step's position is t - 1 or t + 1, zeros before the first.
RecurrentLayer::Step RecurrentLayer::step_at(std::size_t d, std::size_t n, std::size_t k,
                                             const Tensor* bias,
                                             const Tensor* recurrent_bias) const {
    const State& s = *state_;
    const std::size_t steps = s.steps, seq = steps * n;
    const std::size_t t = d == 0 ? k : steps - 1 - k, tp = d == 0 ? t - 1 : t + 1;
    const Tensor hs = s.hseq.rows(d * seq, seq), zeros = s.zeros.rows(0, n);
    Step step;
    step.gates = s.directions[d].proj.rows(t * n, n);
    step.h = hs.rows(t * n, n);
    step.h_prev = k ? hs.rows(tp * n, n) : zeros;
    if (cell_.cell_state) {
        const Tensor cs = s.cseq.rows(d * seq, seq);
        step.c = cs.rows(t * n, n);
        step.c_prev = k ? cs.rows(tp * n, n) : zeros;
    }
    if (cell_.split_recurrent) step.recurrent = s.directions[d].recurrent.rows(t * n, n);
    step.bias = bias;
    step.recurrent_bias = recurrent_bias;
    return step;
}

void RecurrentLayer::run_direction(Device& device, std::size_t d, std::size_t n) {
    State& s = *state_;
    State::Direction& dir = s.directions[d];
    const std::size_t steps = s.steps, seq = steps * n;
    const Tensor proj = dir.proj.rows(0, seq);
    device.gemm(Transpose::no, Transpose::no, 1.0f, s.xt.rows(0, seq), dir.kernel.value, 0.0f,
                proj);
    const Tensor in_bias = options_.use_bias ? s.input_bias(dir) : Tensor{};
    const Tensor rec_bias =
        options_.use_bias && cell_.split_recurrent ? s.recurrent_bias(dir) : Tensor{};
    // The fused cell adds the input bias to each step's block while it is in cache.
    if (options_.use_bias && !fused_) device.binary(BinaryOp::add, proj, in_bias, proj);
    const Tensor* cell_bias = options_.use_bias && fused_ ? &in_bias : nullptr;
    const Tensor* cell_rec_bias = rec_bias.empty() ? nullptr : &rec_bias;
    for (std::size_t k = 0; k < steps; ++k) {
        const Step step = step_at(d, n, k, cell_bias, cell_rec_bias);
        if (cell_.split_recurrent) {
            if (k)
                device.gemm(Transpose::no, Transpose::no, 1.0f, step.h_prev,
                            dir.recurrent_kernel.value, 0.0f, step.recurrent);
            else
                device.fill(step.recurrent, 0.0f);
        } else if (k) {
            device.gemm(Transpose::no, Transpose::no, 1.0f, step.h_prev,
                        dir.recurrent_kernel.value, 1.0f, step.gates);
        }
        forward_step(device, step);
    }
}

void RecurrentLayer::backprop_direction(Device& device, std::size_t d, std::size_t n,
                                        bool need_dx) {
    State& s = *state_;
    State::Direction& dir = s.directions[d];
    const std::size_t steps = s.steps, seq = steps * n;
    const Tensor hs = s.hseq.rows(d * seq, seq), dhs = s.dh.rows(d * seq, seq);
    const Tensor dg = s.dgates.rows(0, seq);
    const Tensor dr = cell_.split_recurrent ? s.drecurrent.rows(0, seq) : dg;
    const Tensor in_bias = options_.use_bias ? s.input_bias(dir) : Tensor{};
    const Tensor rec_bias =
        options_.use_bias && cell_.split_recurrent ? s.recurrent_bias(dir) : Tensor{};
    StepGrad g;
    if (cell_.cell_state) {
        g.dc = s.dc.rows(0, n);
        device.fill(g.dc, 0.0f);
    }
    const Tensor* cell_bias = options_.use_bias && fused_ ? &in_bias : nullptr;
    const Tensor* cell_rec_bias = rec_bias.empty() ? nullptr : &rec_bias;
    for (std::size_t k = steps; k-- > 0;) {
        const std::size_t t = d == 0 ? k : steps - 1 - k;
        const std::size_t tp = d == 0 ? t - 1 : t + 1;
        g.step = step_at(d, n, k, cell_bias, cell_rec_bias);
        if (cell_.split_recurrent) g.drecurrent = dr.rows(t * n, n);
        g.dh = dhs.rows(t * n, n);
        g.dh_prev = k ? dhs.rows(tp * n, n) : s.sink.rows(0, n);
        g.dgates = dg.rows(t * n, n);
        backward_step(device, g);
        if (k)
            device.gemm(Transpose::no, Transpose::yes, 1.0f,
                        cell_.split_recurrent ? g.drecurrent : g.dgates,
                        dir.recurrent_kernel.value, 1.0f, g.dh_prev);
    }
    if (options_.trainable) {
        device.gemm(Transpose::yes, Transpose::no, 1.0f, s.xt.rows(0, seq), dg, 0.0f,
                    dir.kernel.grad);
        // dU = sum over steps of h_prev^T x dL/d(h_prev U): h_prev of position t is h at
        // t - 1 (forward) or t + 1 (backward), so both are one GEMM over shifted row ranges.
        if (steps > 1) {
            const std::size_t rest = (steps - 1) * n;
            device.gemm(Transpose::yes, Transpose::no, 1.0f, d == 0 ? hs.rows(0, rest) : hs.rows(n, rest),
                        d == 0 ? dr.rows(n, rest) : dr.rows(0, rest), 0.0f,
                        dir.recurrent_kernel.grad);
        } else {
            device.fill(dir.recurrent_kernel.grad, 0.0f);
        }
        if (options_.use_bias) {
            const Tensor db = dir.bias.grad.reshaped({dir.bias.grad.numel()});
            const std::size_t gh = s.gates * s.units;
            device.reduce(ReduceOp::sum, dg, Axis::rows, db.rows(0, gh));
            if (cell_.split_recurrent) device.reduce(ReduceOp::sum, dr, Axis::rows, db.rows(gh, gh));
        }
    }
    if (need_dx)
        device.gemm(Transpose::no, Transpose::yes, 1.0f, dg, dir.kernel.value, d == 0 ? 0.0f : 1.0f,
                    s.dxt.rows(0, seq));
}

// h of every position [D, T, n, H] becomes y [n, T, D*H], or the last states [n, D*H]: the
// forward direction's at t = T-1, the backward direction's at t = 0.
void RecurrentLayer::write_output(Device& device, std::size_t n, const Tensor& y) {
    const State& s = *state_;
    const std::size_t steps = s.steps, h = s.units, seq = steps * n;
    const bool both = s.directions.size() == 2;
    const Tensor hs = s.hseq.rows(0, (both ? 2 : 1) * seq);
    if (options_.return_sequences) {
        if (!both) return device.transpose(hs, y, 1, steps, n, h);
        const Tensor pair = s.pair.rows(0, seq);
        device.transpose(hs, pair, 1, 2, seq, h);            // [T*n, 2, H]
        return device.transpose(pair, y, 1, steps, n, 2 * h);  // [n, T, 2H]
    }
    const Tensor last_forward = hs.rows((steps - 1) * n, n);
    if (!both) return device.copy(last_forward, y);
    const Tensor last = s.pair.rows(0, 2 * n);
    device.copy(last_forward, last.rows(0, n));
    device.copy(hs.rows(seq, n), last.rows(n, n));
    device.transpose(last, y, 1, 2, n, h);
}

// The inverse of write_output for dL/dy; positions the output does not show get 0.
void RecurrentLayer::read_output_gradient(Device& device, std::size_t n, const Tensor& dy) {
    const State& s = *state_;
    const std::size_t steps = s.steps, h = s.units, seq = steps * n;
    const bool both = s.directions.size() == 2;
    const Tensor dh = s.dh.rows(0, (both ? 2 : 1) * seq);
    if (options_.return_sequences) {
        if (!both) return device.transpose(dy, dh, 1, n, steps, h);
        const Tensor pair = s.pair.rows(0, seq);
        device.transpose(dy, pair, 1, n, steps, 2 * h);  // [T, n, 2H]
        return device.transpose(pair, dh, 1, seq, 2, h);  // [2, T*n, H]
    }
    device.fill(dh, 0.0f);
    if (!both) return device.copy(dy, dh.rows((steps - 1) * n, n));
    const Tensor last = s.pair.rows(0, 2 * n);
    device.transpose(dy, last, 1, n, 2, h);  // [2, n, H]
    device.copy(last.rows(0, n), dh.rows((steps - 1) * n, n));
    device.copy(last.rows(n, n), dh.rows(seq, n));
}

}  // namespace plexus::support
