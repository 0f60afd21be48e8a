// The fused keys' cases of the conformance table: every key of plexus/fused.hpp, with and
// without its optional operands, run through Device::try_fused on both devices (check_device
// skips a key either device does not list). A new key gets its cases here.
#include <fmt/format.h>

#include <cstddef>
#include <string>
#include <vector>

#include "device_cases.hpp"
#include "plexus/error.hpp"

namespace plexus::testing::detail {
namespace {

using Tensors = std::vector<Tensor>;

// check_device runs a case only on devices that list its key, so declining is an error.
void require_ran(bool ran, fused::Key key) {
    if (!ran) throw DeviceError(fmt::format("try_fused declined {}", fused::key_name(key)));
}

// On [N, F] (spatial 1) or [N, C, H, W] (F = C, spatial = H*W: statistics over N*H*W).
void batchnorm_cases(std::vector<Case>& cases, const Shape& s) {
    const std::size_t spatial = s.rank() == 4 ? s[2] * s[3] : 1;
    const std::size_t f = s.cols() / spatial;
    const Shape row{f};
    for (const bool affine : {false, true}) {
        const char* tag = affine ? " gamma, beta" : " plain";
        // x far from 0 with a small spread: the variance must not cancel away.
        cases.push_back({fmt::format("batchnorm.forward_train{}", tag),
                         s.str(),
                         {{s, 40.0f, 44.0f}, {row, 0.5f, 1.5f}, {row}},
                         {{s}, {s}, {row}, {row}, {row}, {row, 0.5f, 1.5f}},
                         [affine, spatial](Device& d, const Tensors& t) {
                             require_ran(d.try_fused(fused::BatchNormForwardTrain{
                                             .x = t[0],
                                             .gamma = affine ? &t[1] : nullptr,
                                             .beta = affine ? &t[2] : nullptr,
                                             .y = t[3],
                                             .xhat = t[4],
                                             .mean = t[5],
                                             .invstd = t[6],
                                             .moving_mean = t[7],
                                             .moving_variance = t[8],
                                             .epsilon = 1e-3f,
                                             .momentum = 0.9f,
                                             .spatial = spatial}),
                                         fused::Key::batchnorm_forward_train);
                         },
                         1e-4,
                         1e-4,
                         fused::Key::batchnorm_forward_train});
        cases.push_back({fmt::format("batchnorm.forward_infer{}", tag),
                         s.str(),
                         {{s}, {row, 0.5f, 1.5f}, {row}, {row}, {row, 0.5f, 1.5f}},
                         {{s}},
                         [affine, spatial](Device& d, const Tensors& t) {
                             require_ran(d.try_fused(fused::BatchNormForwardInfer{
                                             .x = t[0],
                                             .gamma = affine ? &t[1] : nullptr,
                                             .beta = affine ? &t[2] : nullptr,
                                             .moving_mean = t[3],
                                             .moving_variance = t[4],
                                             .y = t[5],
                                             .epsilon = 1e-3f,
                                             .spatial = spatial}),
                                         fused::Key::batchnorm_forward_infer);
                         },
                         1e-4,
                         1e-5,
                         fused::Key::batchnorm_forward_infer});
        for (const bool with_dx : {false, true})
            cases.push_back(
                {fmt::format("batchnorm.backward{}{}", tag, with_dx ? ", dx" : ", no dx"),
                 s.str(),
                 {{s}, {s}, {row, 0.5f, 1.5f}, {row, 0.5f, 2.0f}},
                 {{s}, {row}, {row}},
                 [affine, with_dx, spatial](Device& d, const Tensors& t) {
                     require_ran(
                         d.try_fused(fused::BatchNormBackward{.dy = t[0],
                                                              .xhat = t[1],
                                                              .gamma = affine ? &t[2] : nullptr,
                                                              .invstd = t[3],
                                                              .dx = with_dx ? &t[4] : nullptr,
                                                              .dgamma = t[5],
                                                              .dbeta = t[6],
                                                              .spatial = spatial}),
                         fused::Key::batchnorm_backward);
                 },
                 1e-4,
                 1e-4,
                 fused::Key::batchnorm_backward});
    }
}

void softmax_cross_entropy_cases(std::vector<Case>& cases, const Shape& s) {
    const float scale = 1.0f / static_cast<float>(s.rows());
    const auto run = [scale](const Tensor& pred, const Tensor& target, const Tensor& dpred,
                             Device& d) {
        require_ran(d.try_fused(fused::SoftmaxCrossEntropyBackward{
                        .pred = pred, .target = target, .dpred = dpred, .scale = scale}),
                    fused::Key::softmax_cross_entropy_backward);
    };
    cases.push_back({"softmax_cross_entropy.backward",
                     s.str(),
                     {{s, -5, 5}, {s, 0, 1}},
                     {{s}},
                     [run](Device& d, const Tensors& t) { run(t[0], t[1], t[2], d); },
                     1e-4,
                     1e-6,
                     fused::Key::softmax_cross_entropy_backward});
    cases.push_back({"softmax_cross_entropy.backward, dpred aliases pred",
                     s.str(),
                     {{s, -5, 5}, {s, 0, 1}},
                     {},
                     [run](Device& d, const Tensors& t) { run(t[0], t[1], t[0], d); },
                     1e-4,
                     1e-6,
                     fused::Key::softmax_cross_entropy_backward});
}

void optimizer_cases(std::vector<Case>& cases, std::size_t n) {
    const Shape s{n};
    for (const bool amsgrad : {false, true})
        for (const bool clip : {false, true}) {
            std::vector<Operand> outs = {{s}, {s, -0.1f, 0.1f}, {s, 0.0f, 0.01f}};
            if (amsgrad) outs.push_back({s, 0.0f, 0.01f});
            cases.push_back(
                {fmt::format("adam.update{}{}", amsgrad ? " amsgrad" : "",
                             clip ? " clipped, decay" : ""),
                 s.str(),
                 {{s}},
                 outs,
                 [amsgrad, clip](Device& d, const Tensors& t) {
                     require_ran(d.try_fused(fused::AdamUpdate{.grad = t[0],
                                                               .value = t[1],
                                                               .m = t[2],
                                                               .v = t[3],
                                                               .v_max = amsgrad ? &t[4] : nullptr,
                                                               .lr = 1e-3f,
                                                               .beta1 = 0.9f,
                                                               .beta2 = 0.999f,
                                                               .epsilon = 1e-7f,
                                                               .bias_correction1 = 0.271f,
                                                               .bias_correction2 = 0.0297f,
                                                               .weight_decay = clip ? 0.01f : 0.0f,
                                                               .grad_scale = clip ? 0.5f : 1.0f,
                                                               .clipvalue = clip ? 0.3f : 0.0f}),
                                 fused::Key::adam_update);
                 },
                 1e-5,
                 1e-7,
                 fused::Key::adam_update});
        }
    for (const bool nesterov : {false, true})
        cases.push_back({fmt::format("sgd.momentum_update{}", nesterov ? " nesterov" : ""),
                         s.str(),
                         {{s}},
                         {{s}, {s, -0.1f, 0.1f}},
                         [nesterov](Device& d, const Tensors& t) {
                             require_ran(d.try_fused(fused::SgdMomentumUpdate{.grad = t[0],
                                                                              .value = t[1],
                                                                              .velocity = t[2],
                                                                              .lr = 0.1f,
                                                                              .momentum = 0.9f,
                                                                              .weight_decay = 1e-4f,
                                                                              .nesterov = nesterov,
                                                                              .grad_scale = 0.8f,
                                                                              .clipvalue = 1.5f}),
                                         fused::Key::sgd_momentum_update);
                         },
                         1e-5,
                         1e-7,
                         fused::Key::sgd_momentum_update});
}

// A convolution geometry: x [n, c, h, w] and `filters` kernels, window w (its batch = n).
struct ConvGeometry {
    const char* name;
    std::size_t filters;
    Window2d w;
};

void conv2d_cases(std::vector<Case>& cases, const ConvGeometry& g) {
    const Window2d w = g.w;
    const std::size_t f = g.filters;
    const Shape x{w.batch, w.channels, w.height, w.width}, k{f, w.channels, w.kernel_h, w.kernel_w};
    const Shape y{w.batch, f, w.out_h, w.out_w}, b{f};
    const std::string shape = fmt::format("{} {} {}", x.str(), k.str(), g.name);
    for (const bool with_bias : {false, true})
        cases.push_back({fmt::format("conv2d.forward{}", with_bias ? " bias" : ""),
                         shape,
                         {{x}, {k, -0.5f, 0.5f}, {b}},
                         {{y}},
                         [w, f, with_bias](Device& d, const Tensors& t) {
                             require_ran(d.try_fused(fused::Conv2dForward{
                                             .x = t[0],
                                             .kernel = t[1],
                                             .bias = with_bias ? &t[2] : nullptr,
                                             .y = t[3],
                                             .window = w,
                                             .filters = f}),
                                         fused::Key::conv2d_forward);
                         },
                         1e-4,
                         1e-4,
                         fused::Key::conv2d_forward});
    // Without dx (a first layer), without weight gradients (a frozen one), and everything.
    for (const int mode : {0, 1, 2})
        cases.push_back({fmt::format("conv2d.backward{}",
                                     mode == 0 ? " no dx" : mode == 1 ? " dx only" : ""),
                         shape,
                         {{x}, {k, -0.5f, 0.5f}, {y}},
                         {{x}, {k}, {b}},
                         [w, f, mode](Device& d, const Tensors& t) {
                             require_ran(d.try_fused(fused::Conv2dBackward{
                                             .x = t[0],
                                             .kernel = t[1],
                                             .dy = t[2],
                                             .dx = mode != 0 ? &t[3] : nullptr,
                                             .dkernel = mode != 1 ? &t[4] : nullptr,
                                             .dbias = mode != 1 ? &t[5] : nullptr,
                                             .window = w,
                                             .filters = f}),
                                         fused::Key::conv2d_backward);
                         },
                         1e-4,
                         1e-3,  // dkernel sums N*OH*OW products
                         fused::Key::conv2d_backward});
}

// Window2d fields: batch, channels, height, width, kernel_h, kernel_w, stride_h, stride_w,
// dilation_h, dilation_w, pad_top, pad_left, out_h, out_w.
const ConvGeometry kConvGeometries[] = {
    {"3x3 same", 4, {2, 3, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, 7, 9}},
    {"3x3 stride 2 same", 5, {2, 3, 7, 8, 3, 3, 2, 2, 1, 1, 1, 0, 4, 4}},
    {"3x3 dilation 2 valid", 4, {2, 2, 9, 7, 3, 3, 1, 1, 2, 2, 0, 0, 5, 3}},
    {"3x5 padding 2, batch 1, one channel", 3, {1, 1, 6, 7, 3, 5, 1, 1, 1, 1, 2, 2, 8, 7}},
    {"1x1 stride 2 valid", 3, {3, 5, 5, 5, 1, 1, 2, 2, 1, 1, 0, 0, 3, 3}},
    {"3x3 stride 2x1 valid, rows not reached", 6, {2, 3, 8, 6, 3, 3, 2, 1, 1, 1, 0, 0, 3, 4}},
    {"3x3 same, 16 channels", 32, {3, 16, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6, 6}},
};

// A recurrent cell step of n rows and h units, with the given activations, with and without
// the biases. Backward cases start from activations in (0, 1), as a forward leaves them.
struct CellCase {
    std::size_t n, h;
    fused::Activation a, ra;
};

const char* activation_name(fused::Activation a) {
    switch (a) {
        case fused::Activation::sigmoid: return "sigmoid";
        case fused::Activation::relu: return "relu";
        case fused::Activation::linear: return "linear";
        default: return "tanh";
    }
}

void lstm_cases(std::vector<Case>& cases, const CellCase& k) {
    const Shape gates{k.n, 4 * k.h}, state{k.n, k.h}, row{4 * k.h};
    const std::string shape = fmt::format("{} {}/{}", state.str(), activation_name(k.a),
                                          activation_name(k.ra));
    const fused::Activation a = k.a, ra = k.ra;
    for (const bool with_bias : {false, true})
        cases.push_back({fmt::format("lstm.cell_forward{}", with_bias ? " bias" : ""),
                         shape,
                         {{gates, -3.0f, 3.0f}, {row}, {state}},
                         {{state}, {state}},
                         [a, ra, with_bias](Device& d, const Tensors& t) {
                             require_ran(d.try_fused(fused::LstmCellForward{
                                             .gates = t[0],
                                             .bias = with_bias ? &t[1] : nullptr,
                                             .c_prev = t[2],
                                             .c = t[3],
                                             .h = t[4],
                                             .activation = a,
                                             .recurrent_activation = ra}),
                                         fused::Key::lstm_cell_forward);
                         },
                         1e-4,
                         1e-5,
                         fused::Key::lstm_cell_forward});
    cases.push_back({"lstm.cell_backward",
                     shape,
                     {{gates, 0.05f, 0.95f}, {state}, {state}, {state}, {state}},
                     {{gates}},
                     [a, ra](Device& d, const Tensors& t) {
                         require_ran(d.try_fused(fused::LstmCellBackward{.gates = t[0],
                                                                         .c_prev = t[1],
                                                                         .c = t[2],
                                                                         .dh = t[3],
                                                                         .dc = t[4],
                                                                         .dgates = t[5],
                                                                         .activation = a,
                                                                         .recurrent_activation = ra}),
                                     fused::Key::lstm_cell_backward);
                     },
                     1e-4,
                     1e-5,
                     fused::Key::lstm_cell_backward});
}

void gru_cases(std::vector<Case>& cases, const CellCase& k) {
    const Shape gates{k.n, 3 * k.h}, state{k.n, k.h}, row{3 * k.h};
    const std::string shape = fmt::format("{} {}/{}", state.str(), activation_name(k.a),
                                          activation_name(k.ra));
    const fused::Activation a = k.a, ra = k.ra;
    for (const bool with_bias : {false, true})
        cases.push_back({fmt::format("gru.cell_forward{}", with_bias ? " bias" : ""),
                         shape,
                         {{gates, -3.0f, 3.0f}, {row}, {gates}, {row}, {state}},
                         {{state}},
                         [a, ra, with_bias](Device& d, const Tensors& t) {
                             require_ran(d.try_fused(fused::GruCellForward{
                                             .gates = t[0],
                                             .bias = with_bias ? &t[1] : nullptr,
                                             .recurrent = t[2],
                                             .recurrent_bias = with_bias ? &t[3] : nullptr,
                                             .h_prev = t[4],
                                             .h = t[5],
                                             .activation = a,
                                             .recurrent_activation = ra}),
                                         fused::Key::gru_cell_forward);
                         },
                         1e-4,
                         1e-5,
                         fused::Key::gru_cell_forward});
    cases.push_back({"gru.cell_backward",
                     shape,
                     {{gates, 0.05f, 0.95f}, {gates}, {state}, {state}, {state}},
                     {{gates}, {gates}},
                     [a, ra](Device& d, const Tensors& t) {
                         require_ran(d.try_fused(fused::GruCellBackward{.gates = t[0],
                                                                        .recurrent = t[1],
                                                                        .h_prev = t[2],
                                                                        .dh = t[3],
                                                                        .dh_prev = t[4],
                                                                        .dgates = t[5],
                                                                        .drecurrent = t[6],
                                                                        .activation = a,
                                                                        .recurrent_activation = ra}),
                                     fused::Key::gru_cell_backward);
                     },
                     1e-4,
                     1e-5,
                     fused::Key::gru_cell_backward});
}

// The defaults (tanh, sigmoid) on one unit, odd sizes and a co2-sized step; the other
// activations on a small one.
const CellCase kCellCases[] = {
    {1, 1, fused::Activation::tanh, fused::Activation::sigmoid},
    {3, 5, fused::Activation::tanh, fused::Activation::sigmoid},
    {64, 64, fused::Activation::tanh, fused::Activation::sigmoid},
    {2, 7, fused::Activation::relu, fused::Activation::linear},
    {2, 7, fused::Activation::sigmoid, fused::Activation::tanh},
    {2, 7, fused::Activation::linear, fused::Activation::relu},
};

}  // namespace

std::vector<Case> fused_cases() {
    std::vector<Case> cases;
    for (const Shape& s : {Shape{2, 1}, Shape{3, 5}, Shape{128, 10}, Shape{65, 257}}) {
        batchnorm_cases(cases, s);
        softmax_cross_entropy_cases(cases, s);
    }
    // Images: N = 1 trains on one sample's planes; the largest is split over the CPU device's
    // helper threads.
    for (const Shape& s :
         {Shape{4, 3, 5, 5}, Shape{2, 6, 7, 9}, Shape{1, 2, 7, 7}, Shape{32, 16, 10, 10}})
        batchnorm_cases(cases, s);
    for (std::size_t n : {1u, 7u, 1000u}) optimizer_cases(cases, n);
    for (const ConvGeometry& g : kConvGeometries) conv2d_cases(cases, g);
    for (const CellCase& k : kCellCases) {
        lstm_cases(cases, k);
        gru_cases(cases, k);
    }
    return cases;
}

}  // namespace plexus::testing::detail
