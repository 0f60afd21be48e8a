// Fused kernels: a whole layer pass or optimizer step that a device may run as one kernel
// instead of the component's primitive ops. Each key is declared here once, as a Key value
// and a struct of its operands by name, so a misspelt key or a missing operand is a compile
// error rather than a silent fall-back to the primitive path.
//
// A component offers the pass with Device::try_fused(fused::X{...}); the device runs it and
// returns true if it implements that key (Device::fused_keys()), else returns false and the
// component runs its primitive path, which stays the reference every fused kernel is tested
// against (plexus::testing::check_device). Required operands are references and Required<>
// scalars, which a designated initializer cannot leave out; optional tensors are pointers
// whose null is documented per field. Before a device sees the operands, the Device base
// class checks each one: it lives on that device and has the element count its field's
// comment gives (Device::try_fused throws DeviceError otherwise).
//
// An operand struct holds references: build it inside the try_fused(...) call and never
// store it. A struct kept past the full expression that built it dangles when any of its
// tensors was a temporary (e.g. `t.rows(0, n)`).
//
// Adding a key, every step:
//   1. a Key value, before `count` (the values of existing keys never change);
//   2. its name in kKeyNames (key_name()), and the key in kAllKeys, both in Key's order;
//   3. its operand struct below, with `static constexpr Key kKey` and each field's size;
//   4. a Device::try_fused / run_fused overload pair (plexus/device.hpp, core/src/sdk/device.cpp);
//   5. its operand check, check_operands() in core/src/sdk/device.cpp;
//   6. its conformance cases in core/src/sdk/testing/fused_cases.cpp;
//   7. the component that offers it in tests/test_device_fused_keys.cpp (components());
//   8. a bump of PLEXUS_ABI_VERSION (plexus/export.hpp), unless the version is already bumped
//      for an unreleased round.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>

#include "plexus/tensor.hpp"
#include "plexus/window2d.hpp"

namespace plexus::fused {

enum class Key : std::uint8_t {
    batchnorm_forward_train,
    batchnorm_forward_infer,
    batchnorm_backward,
    softmax_cross_entropy_backward,
    adam_update,
    sgd_momentum_update,
    conv2d_forward,
    conv2d_backward,
    lstm_cell_forward,
    lstm_cell_backward,
    gru_cell_forward,
    gru_cell_backward,
    count
};

inline constexpr std::size_t kKeyCount = static_cast<std::size_t>(Key::count);

/// Every key, in declaration order.
inline constexpr std::array<Key, kKeyCount> kAllKeys = {Key::batchnorm_forward_train,
                                                        Key::batchnorm_forward_infer,
                                                        Key::batchnorm_backward,
                                                        Key::softmax_cross_entropy_backward,
                                                        Key::adam_update,
                                                        Key::sgd_momentum_update,
                                                        Key::conv2d_forward,
                                                        Key::conv2d_backward,
                                                        Key::lstm_cell_forward,
                                                        Key::lstm_cell_backward,
                                                        Key::gru_cell_forward,
                                                        Key::gru_cell_backward};

namespace detail {
// Indexed by Key.
inline constexpr std::array<std::string_view, kKeyCount> kKeyNames = {
    "batchnorm.forward_train",
    "batchnorm.forward_infer",
    "batchnorm.backward",
    "softmax_cross_entropy.backward",
    "adam.update",
    "sgd.momentum_update",
    "conv2d.forward",
    "conv2d.backward",
    "lstm.cell_forward",
    "lstm.cell_backward",
    "gru.cell_forward",
    "gru.cell_backward"};

// A std::array given too few initializers still compiles (the rest value-initialised), so
// these catch a key added to Key without its entries above.
constexpr bool all_keys_in_order() {
    for (std::size_t i = 0; i < kKeyCount; ++i)
        if (kAllKeys[i] != static_cast<Key>(i)) return false;
    return true;
}
constexpr bool all_keys_named() {
    for (std::string_view name : kKeyNames)
        if (name.empty()) return false;
    return true;
}
static_assert(all_keys_in_order(), "kAllKeys must list every fused::Key once, in Key's order");
static_assert(all_keys_named(), "kKeyNames must name every fused::Key, in Key's order");
}  // namespace detail

/// The key's name in tables, profiles and `plexus devices --check`, e.g. "adam.update".
constexpr std::string_view key_name(Key key) {
    const auto i = static_cast<std::size_t>(key);
    return i < kKeyCount ? detail::kKeyNames[i] : std::string_view("?");
}

/// The key named `name`, or nothing.
constexpr std::optional<Key> key_from_name(std::string_view name) {
    for (Key k : kAllKeys)
        if (key_name(k) == name) return k;
    return std::nullopt;
}

/// A set of keys: what a device implements (Device::fused_keys()). One bit per key.
class KeySet {
    static_assert(kKeyCount <= 32, "KeySet holds one bit per fused::Key in a std::uint32_t");


public:
    constexpr KeySet() = default;
    constexpr KeySet(std::initializer_list<Key> keys) {
        for (Key k : keys) insert(k);
    }
    constexpr KeySet& insert(Key key) {
        bits_ |= bit(key);
        return *this;
    }
    constexpr bool contains(Key key) const { return (bits_ & bit(key)) != 0; }
    constexpr bool empty() const { return bits_ == 0; }
    constexpr bool operator==(const KeySet&) const = default;

private:
    static constexpr std::uint32_t bit(Key key) {
        return std::uint32_t{1} << static_cast<unsigned>(key);
    }
    std::uint32_t bits_ = 0;
};

/// A scalar operand that must be given: it has no default, so a designated initializer that
/// leaves it out does not compile.
template <class T>
class Required {
public:
    constexpr Required(T value) noexcept : value_(value) {}  // NOLINT: implicit on purpose
    constexpr operator T() const noexcept { return value_; }

private:
    T value_;
};

// ---- the operands of each key. N is the batch (rows), F the features (columns).

// The batchnorm keys take x (and y, xhat, dy, dx) as [N, F, S] row-major with S = `spatial`:
// F features, each a plane of S contiguous values per sample, e.g. an NCHW image batch with
// F = C and S = H*W, passed as the tensor [N, C*H*W] (or [N, C, H, W]) it already is, with no
// transpose to NHWC. A feature's statistics are taken over its N*S values. N is x.rows() and
// F = x.cols() / spatial (x.cols() must be a multiple of spatial). spatial = 1 is the plain
// [N, F] case, a dense layer's features.

/// Batch normalization, train mode (plugins/layers/batchnorm): per feature, mean and biased
/// variance over its N*S values, xhat = (x - mean) * invstd, y = gamma * xhat + beta, and the
/// running statistics updated as moving = momentum * moving + (1 - momentum) * batch.
/// Requires N*S >= 2. y may alias x.
struct BatchNormForwardTrain {
    static constexpr Key kKey = Key::batchnorm_forward_train;
    const Tensor& x;                // [N, F*S]
    const Tensor* gamma = nullptr;  // [F]; null means 1
    const Tensor* beta = nullptr;   // [F]; null means 0
    const Tensor& y;                // [N, F*S] written
    const Tensor& xhat;             // [N, F*S] written, for the backward pass
    const Tensor& mean;             // [F] written: the batch mean
    const Tensor& invstd;           // [F] written: 1 / sqrt(var + epsilon)
    const Tensor& moving_mean;      // [F] updated in place
    const Tensor& moving_variance;  // [F] updated in place
    Required<float> epsilon;
    Required<float> momentum;
    std::size_t spatial = 1;  // S, the values per feature per sample; >= 1
};

/// Batch normalization, infer mode: y = gamma * (x - moving_mean) / sqrt(moving_variance +
/// epsilon) + beta. Reads the running statistics only. y may alias x.
struct BatchNormForwardInfer {
    static constexpr Key kKey = Key::batchnorm_forward_infer;
    const Tensor& x;                // [N, F*S]
    const Tensor* gamma = nullptr;  // [F]; null means 1
    const Tensor* beta = nullptr;   // [F]; null means 0
    const Tensor& moving_mean;      // [F]
    const Tensor& moving_variance;  // [F]
    const Tensor& y;                // [N, F*S] written
    Required<float> epsilon;
    std::size_t spatial = 1;  // S, the values per feature per sample; >= 1
};

/// Batch normalization backward, after a train-mode forward of the same batch:
/// dbeta = sum(dy), dgamma = sum(dy * xhat) over each feature's N*S values, and with
/// M = N*S, dx = gamma * invstd / M * (M * dy - dbeta - xhat * dgamma). dx may alias dy.
struct BatchNormBackward {
    static constexpr Key kKey = Key::batchnorm_backward;
    const Tensor& dy;               // [N, F*S]
    const Tensor& xhat;             // [N, F*S] from the forward
    const Tensor* gamma = nullptr;  // [F]; null means 1
    const Tensor& invstd;           // [F] from the forward
    const Tensor* dx = nullptr;     // [N, F*S] written; null when no input gradient is needed
    const Tensor& dgamma;           // [F] written
    const Tensor& dbeta;            // [F] written
    std::size_t spatial = 1;        // S, as in the forward; >= 1
};

/// Softmax cross-entropy backward (plugins/losses/softmax_cross_entropy), row by row:
/// dpred = (softmax(pred) - target) * scale. dpred may alias pred.
struct SoftmaxCrossEntropyBackward {
    static constexpr Key kKey = Key::softmax_cross_entropy_backward;
    const Tensor& pred;     // [N, C] logits
    const Tensor& target;   // [N, C] probabilities (one-hot or smoothed)
    const Tensor& dpred;    // [N, C] written
    Required<float> scale;  // 1/N for a mean over the batch
};

/// One Adam step over one parameter (plugins/optimizers/adam), element by element, in the
/// primitive path's order of operations: g = clip(grad * grad_scale, ±clipvalue);
/// m = beta1*m + (1-beta1)*g; v = beta2*v + (1-beta2)*g²; with AMSGrad v_max = max(v_max, v)
/// is used for v; value = value*(1 - lr*weight_decay) - lr/bias_correction1 * m /
/// (sqrt(v)/sqrt(bias_correction2) + epsilon).
struct AdamUpdate {
    static constexpr Key kKey = Key::adam_update;
    const Tensor& grad;
    const Tensor& value;  // updated in place, as are m, v and v_max
    const Tensor& m;
    const Tensor& v;
    const Tensor* v_max = nullptr;  // AMSGrad's running maximum; null without AMSGrad
    Required<float> lr;
    Required<float> beta1;
    Required<float> beta2;
    Required<float> epsilon;
    Required<float> bias_correction1;  // 1 - beta1^t
    Required<float> bias_correction2;  // 1 - beta2^t
    Required<float> weight_decay;      // decoupled (AdamW); 0 = none
    Required<float> grad_scale;        // clipnorm's factor; 1 = none
    Required<float> clipvalue;         // 0 = no clipping
};

/// One SGD step with momentum over one parameter (plugins/optimizers/sgd):
/// g = clip(grad * grad_scale, ±clipvalue); b = momentum*b + g + weight_decay*value; then
/// value -= lr*b, or with Nesterov value = value*(1 - lr*weight_decay) - lr*g - lr*momentum*b.
struct SgdMomentumUpdate {
    static constexpr Key kKey = Key::sgd_momentum_update;
    const Tensor& grad;
    const Tensor& value;  // updated in place, as is velocity
    const Tensor& velocity;
    Required<float> lr;
    Required<float> momentum;
    Required<float> weight_decay;
    Required<bool> nesterov;
    Required<float> grad_scale;  // clipnorm's factor; 1 = none
    Required<float> clipvalue;   // 0 = no clipping
};

// The conv2d keys (plugins/layers/conv2d) take NCHW tensors: x [N, C, H, W] as the [N, C*H*W]
// (or 4-D) tensor it is, the kernel OIHW [F, C, kh, kw], y and dy [N, F, OH, OW], with the
// geometry (N = window.batch, C, H, W, kernel, stride, dilation, padding, OH, OW) in `window`,
// which must pass Device::check_window. Like the layer's primitive path, they compute a
// cross-correlation: y[n][f][oh][ow] = bias[f] + sum over c, i, j of kernel[f][c][i][j] *
// x[n][c][oh*stride_h - pad_top + i*dilation_h][ow*stride_w - pad_left + j*dilation_w],
// padding reading zeros. No operand may alias another.

/// 2-D convolution forward: y = conv(x, kernel) + bias, as above.
struct Conv2dForward {
    static constexpr Key kKey = Key::conv2d_forward;
    const Tensor& x;               // [N, C*H*W]
    const Tensor& kernel;          // [F, C, kh, kw]: F*C*kh*kw elements
    const Tensor* bias = nullptr;  // [F]; null means no bias
    const Tensor& y;               // [N, F*OH*OW] written
    Required<Window2d> window;     // N = x.rows()
    Required<std::size_t> filters;  // F >= 1
};

/// 2-D convolution backward, for the forward of the same x and kernel: dx = the gradient
/// reaching x (the adjoint of the forward, padding dropped), dkernel[f][c][i][j] = the sum
/// over n, oh, ow of dy[n][f][oh][ow] times the x element that tap read, dbias[f] = the sum
/// of dy[.][f][.][.]. Each output is overwritten (not accumulated into).
struct Conv2dBackward {
    static constexpr Key kKey = Key::conv2d_backward;
    const Tensor& x;                   // [N, C*H*W] as the forward saw it
    const Tensor& kernel;              // [F, C, kh, kw]
    const Tensor& dy;                  // [N, F*OH*OW]
    const Tensor* dx = nullptr;        // [N, C*H*W] written; null when no input gradient is
                                       // needed (the first layer)
    const Tensor* dkernel = nullptr;   // [F, C, kh, kw] written; null for a frozen layer
    const Tensor* dbias = nullptr;     // [F] written; null without a bias or frozen
    Required<Window2d> window;         // N = x.rows()
    Required<std::size_t> filters;     // F >= 1
};

// The recurrent cell keys (plugins/layers/lstm, gru) compute one time step of N rows and H
// units, elementwise, after the layer's GEMMs: each gate block is [N, G*H] row-major, row n
// holding the G gates' H values one after another in Keras's gate order. `a` is
// `activation`, `ra` `recurrent_activation`; every derivative is taken from the activation's
// output (tanh: 1 - y^2, sigmoid: y(1 - y), relu: y > 0, linear: 1). No operand may alias
// another unless its comment says so.

/// The activations a recurrent cell key takes (Keras's names; linear is the identity).
enum class Activation : std::uint8_t { tanh, sigmoid, relu, linear, count };

/// LSTM step (Hochreiter & Schmidhuber, 1997, with a forget gate), gates i, f, c, o: with
/// z = gates + bias, i = ra(z_i), f = ra(z_f), g = a(z_c), o = ra(z_o), c = f*c_prev + i*g,
/// h = o*a(c). On return `gates` holds [i, f, g, o], what the backward reads.
struct LstmCellForward {
    static constexpr Key kKey = Key::lstm_cell_forward;
    const Tensor& gates;           // [N, 4H]: in the pre-activations, out the activations
    const Tensor* bias = nullptr;  // [4H] added to every row first; null means 0
    const Tensor& c_prev;          // [N, H]
    const Tensor& c;               // [N, H] written
    const Tensor& h;               // [N, H] written
    Required<Activation> activation;
    Required<Activation> recurrent_activation;
};

/// LSTM step backward, after the forward of the same step: with dc = dc + dh*o*a'(c),
/// dz_i = dc*g*ra'(i), dz_f = dc*c_prev*ra'(f), dz_c = dc*i*a'(g), dz_o = dh*a(c)*ra'(o),
/// then dc = dc*f (the gradient reaching c_prev).
struct LstmCellBackward {
    static constexpr Key kKey = Key::lstm_cell_backward;
    const Tensor& gates;   // [N, 4H]: [i, f, g, o] as the forward left them
    const Tensor& c_prev;  // [N, H]
    const Tensor& c;       // [N, H]
    const Tensor& dh;      // [N, H]: dL/dh of this step, complete
    const Tensor& dc;      // [N, H]: in dL/dc from the later steps, out dL/dc_prev
    const Tensor& dgates;  // [N, 4H] written: dL/dz
    Required<Activation> activation;
    Required<Activation> recurrent_activation;
};

/// GRU step with the reset gate after the recurrent product (Cho et al., 2014; Keras's
/// reset_after=true, cuDNN's and PyTorch's formulation), gates z, r, h: with x = gates + bias
/// and u = recurrent + recurrent_bias, z = ra(x_z + u_z), r = ra(x_r + u_r),
/// hh = a(x_h + r*u_h), h = z*h_prev + (1 - z)*hh. On return `gates` holds [z, r, hh] and
/// `recurrent` holds u, what the backward reads.
struct GruCellForward {
    static constexpr Key kKey = Key::gru_cell_forward;
    const Tensor& gates;                     // [N, 3H]: in the input projection, out activations
    const Tensor* bias = nullptr;            // [3H] input bias; null means 0
    const Tensor& recurrent;                 // [N, 3H]: in h_prev x U, out u (plus its bias)
    const Tensor* recurrent_bias = nullptr;  // [3H]; null means 0
    const Tensor& h_prev;                    // [N, H]
    const Tensor& h;                         // [N, H] written
    Required<Activation> activation;
    Required<Activation> recurrent_activation;
};

/// GRU step backward, after the forward of the same step: dhh = dh*(1 - z), dx_h =
/// dhh*a'(hh), dx_z = dh*(h_prev - hh)*ra'(z), dx_r = dx_h*u_h*ra'(r); dgates = [dx_z, dx_r,
/// dx_h], drecurrent = [dx_z, dx_r, dx_h*r] (the gradient of u), and dh_prev += dh*z.
struct GruCellBackward {
    static constexpr Key kKey = Key::gru_cell_backward;
    const Tensor& gates;       // [N, 3H]: [z, r, hh] as the forward left them
    const Tensor& recurrent;   // [N, 3H]: u as the forward left it
    const Tensor& h_prev;      // [N, H]
    const Tensor& dh;          // [N, H]: dL/dh of this step, complete
    const Tensor& dh_prev;     // [N, H]: dh*z added in place
    const Tensor& dgates;      // [N, 3H] written
    const Tensor& drecurrent;  // [N, 3H] written
    Required<Activation> activation;
    Required<Activation> recurrent_activation;
};

}  // namespace plexus::fused
