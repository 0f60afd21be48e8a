// 2-D convolution (LeCun et al., "Gradient-based learning applied to document recognition",
// 1998): `filters` learned kernels slide over a [C, H, W] image, each producing one output
// channel; what makes CNNs work on images is that a kernel is shared by every position.
//
// Computed as one GEMM over an im2col patch matrix (Chellapilla, Puri & Simard, "High
// performance convolutional neural networks for document processing", 2006), so the speed is
// the device's GEMM. The kernel is stored OIHW ([filters, C, kh, kw], PyTorch's layout), which
// is already the [filters, C*kh*kw] matrix the GEMM wants.
//
// The GEMM writes the output channel-first, cf [F, N*P] = W [F, CKK] x col^T (P = OH*OW),
// not channel-last col x W^T: the same product, but with the few filters as M and the many
// positions as N, OpenBLAS runs it 1.2-2.6x faster on the CPU (the first layer's 32 x 100352
// x 9 most), and so do the backward GEMMs cf x col and cf^T x W. From cf [F, N, P], NCHW
// y [N, F, P] is a block permute that moves whole P-float planes (Device::transpose with
// inner = P), several times cheaper than the element transpose a channel-last [N, P, F] needs.
// The bias, a per-row constant of cf, goes in first as a K = 1 GEMM bias x ones (there is no
// column broadcast); the main GEMM then adds onto it.
//
// A device that lists both conv2d fused keys (plexus/fused.hpp; the cpu device with oneDNN)
// runs whole passes on the NCHW tensors instead, and the layer then allocates none of the
// buffers below; the primitive path stays the reference those keys are tested against.
//
// Initialisation, l1/l2 and trainable are dense's (Keras's): fan_in = C*kh*kw and
// fan_out = filters*kh*kw, as Keras counts them for Conv2D.
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/support/weights.hpp"
#include "plexus/support/window.hpp"

namespace {

using plexus::ParamSpec;
using plexus::ParamType;
using plexus::Tensor;
using plexus::Transpose;

constexpr double kInf = std::numeric_limits<double>::infinity();

constexpr ParamSpec kConv2dParams[] = {
    {"filters", ParamType::integer, nullptr, 1, kInf, nullptr,
     "Number of kernels, i.e. of output channels", 0},
    {"kernel", ParamType::string, nullptr, 0, 0, nullptr,
     "Kernel size: 3 (3x3) or HxW such as 3x5 (Keras's kernel_size)", 0},
    {"stride", ParamType::string, "1", 0, 0, nullptr,
     "Step between windows: 2 (2x2) or HxW such as 2x1 (Keras's strides)", 0},
    {"padding", ParamType::string, "valid", 0, 0, nullptr,
     "valid (none), same (output ceil(H/stride), TensorFlow's split: the odd row at the "
     "bottom) or N zero rows and columns on every side (PyTorch's padding=N)",
     0},
    {"dilation", ParamType::string, "1", 0, 0, nullptr,
     "Spacing between kernel taps: 2 (2x2) or HxW (Keras's dilation_rate)", 0},
    {"use_bias", ParamType::boolean, "true", -kInf, kInf, nullptr, "Add a learned bias per filter",
     0},
    plexus::support::init_param(),
    plexus::support::stddev_param(),
    plexus::support::limit_param(),
    plexus::support::l1_param(),
    plexus::support::l2_param(),
    plexus::support::trainable_param(),
    {"fused", ParamType::boolean, "true", -kInf, kInf, nullptr,
     "Use the device's fused convolution when it has one (false forces im2col + GEMM)", 0},
};

class Conv2d final : public plexus::Layer {
public:
    explicit Conv2d(const plexus::Params& params)
        : filters_(static_cast<std::size_t>(params.get_int("filters"))),
          spec_{plexus::support::parse_size2d(params.get_string("kernel"), "conv2d", "kernel"),
                plexus::support::parse_size2d(params.get_string("stride"), "conv2d", "stride"),
                plexus::support::parse_size2d(params.get_string("dilation"), "conv2d", "dilation"),
                plexus::support::parse_padding(params.get_string("padding"), "conv2d")},
          weights_(params),
          fused_(params.get_bool("fused")) {}

    plexus::Shape build(const plexus::Shape& input, plexus::Device& device,
                        const plexus::BuildContext& context) override {
        window_ = plexus::support::make_window(input, spec_, "conv2d");
        sample_numel_ = input.cols();
        const std::size_t c = window_.channels, kh = window_.kernel_h, kw = window_.kernel_w;
        weights_.build(device, {filters_, c, kh, kw}, filters_, static_cast<double>(c * kh * kw),
                       static_cast<double>(filters_ * kh * kw), context.seed);
        built_ = true;
        whole_ = fused_ && has_fused_keys(device);
        col_rows_ = 0;
        const plexus::Shape output{window_.batch, filters_, window_.out_h, window_.out_w};
        if (whole_) return output;  // the fused kernels need no buffers of the layer's
        const std::size_t positions = window_.batch * window_.out_plane();
        col_ = device.alloc({positions, window_.patch()});
        cf_ = device.alloc({filters_ * positions});
        if (weights_.use_bias) {
            ones_ = device.alloc({positions});
            device.fill(ones_, 1.0f);
        }
        return output;
    }

    void forward(const Tensor& x, const Tensor& y, plexus::Mode) override {
        const plexus::Window2d w = window_for(x);
        plexus::Device& device = *x.device();
        if (whole_) {
            ran(device.try_fused(plexus::fused::Conv2dForward{
                .x = x, .kernel = weights_.kernel.value, .bias = bias(weights_.bias.value),
                .y = y, .window = w, .filters = filters_}));
            return;
        }
        const Tensor col = col_.rows(0, w.batch * w.out_plane());
        device.im2col(x, col, w);
        col_rows_ = col.rows();
        const Tensor cf = channel_first(w);
        float beta = 0.0f;
        if (weights_.use_bias) {
            device.gemm(Transpose::no, Transpose::no, 1.0f,
                        weights_.bias.value.reshaped({filters_, 1}),
                        ones_.rows(0, cf.cols()).reshaped({1, cf.cols()}), 0.0f, cf);
            beta = 1.0f;
        }
        device.gemm(Transpose::no, Transpose::yes, 1.0f, matrix(weights_.kernel.value), col, beta,
                    cf);
        // cf [F, N, P] -> y [N, F, P]
        device.transpose(cf, y, 1, filters_, w.batch, w.out_plane());
    }

    void backward(const Tensor& x, const Tensor&, const Tensor& dy, const Tensor* dx) override {
        const plexus::Window2d w = window_for(x);
        plexus::Device& device = *x.device();
        if (whole_) {
            const bool grads = weights_.trainable();  // a frozen layer skips its weight gradients
            ran(device.try_fused(plexus::fused::Conv2dBackward{
                .x = x, .kernel = weights_.kernel.value, .dy = dy, .dx = dx,
                .dkernel = grads ? &weights_.kernel.grad : nullptr,
                .dbias = grads ? bias(weights_.bias.grad) : nullptr, .window = w,
                .filters = filters_}));
            return;
        }
        const Tensor cf = channel_first(w);
        device.transpose(dy, cf, 1, w.batch, filters_, w.out_plane());  // [N, F, P] -> [F, N, P]
        if (weights_.trainable()) {  // a frozen layer skips its weight gradients, not dx
            device.gemm(Transpose::no, Transpose::no, 1.0f, cf, patches(x, w), 0.0f,
                        matrix(weights_.kernel.grad));
            if (weights_.use_bias)
                device.reduce(plexus::ReduceOp::sum, cf, plexus::Axis::cols, weights_.bias.grad);
        }
        if (dx) {
            // The patch matrix is not needed any more: it holds d(col) now.
            const Tensor dcol = col_.rows(0, w.batch * w.out_plane());
            device.gemm(Transpose::yes, Transpose::no, 1.0f, cf, matrix(weights_.kernel.value),
                        0.0f, dcol);
            col_rows_ = 0;
            device.col2im(dcol, *dx, w);
        }
    }

    std::vector<plexus::Parameter*> parameters() override { return weights_.parameters(); }

private:
    static bool has_fused_keys(const plexus::Device& device) {
        const plexus::fused::KeySet keys = device.fused_keys();
        return keys.contains(plexus::fused::Key::conv2d_forward) &&
               keys.contains(plexus::fused::Key::conv2d_backward);
    }

    static void ran(bool ran) {
        if (!ran)
            throw plexus::DeviceError(
                "conv2d: the device declined a fused key it listed in fused_keys() at build");
    }

    // The bias operand of a fused key: null without use_bias.
    const Tensor* bias(const Tensor& t) const { return weights_.use_bias ? &t : nullptr; }

    // The window for x's batch, after checking x is what build() saw (fewer rows allowed).
    plexus::Window2d window_for(const Tensor& x) const {
        if (!built_)
            throw plexus::ShapeError("conv2d: forward/backward called before build()");
        if (x.rows() == 0 || x.rows() > window_.batch || x.cols() != sample_numel_)
            throw plexus::ShapeError("conv2d: built for up to " + std::to_string(window_.batch) +
                                     " samples of " + std::to_string(sample_numel_) +
                                     " values, got " + x.shape().str());
        return plexus::support::with_batch(window_, x.rows());
    }

    // The im2col patches of x for backward: those forward wrote (the Layer contract: backward
    // gets the x forward just saw), unless a backward with dx has overwritten them since.
    Tensor patches(const Tensor& x, const plexus::Window2d& w) {
        const Tensor col = col_.rows(0, w.batch * w.out_plane());
        if (col_rows_ != col.rows()) x.device()->im2col(x, col, w);
        col_rows_ = col.rows();
        return col;
    }

    // The first filters * N*P floats of cf_ as the [filters, N*P] matrix for w's batch.
    Tensor channel_first(const plexus::Window2d& w) const {
        const std::size_t positions = w.batch * w.out_plane();
        return cf_.rows(0, filters_ * positions).reshaped({filters_, positions});
    }

    // The OIHW kernel as the [filters, C*kh*kw] matrix it already is in memory.
    Tensor matrix(const Tensor& kernel) const {
        return kernel.reshaped({filters_, window_.patch()});
    }

    std::size_t filters_;
    plexus::support::WindowSpec spec_;
    plexus::support::KernelWeights weights_;
    plexus::Window2d window_;
    std::size_t sample_numel_ = 0;
    Tensor col_;                // [N*OH*OW, C*kh*kw]: im2col patches, or d(patches) in backward
    Tensor cf_;                 // [filters, N*OH*OW] (flat): the output, or dy, channel-first
    Tensor ones_;               // [N*OH*OW] ones: the bias GEMM's right operand
    std::size_t col_rows_ = 0;  // rows of col_ holding the patches of the last forward
    bool fused_;                // the `fused` parameter
    bool whole_ = false;        // the device runs whole passes (the conv2d fused keys)
    bool built_ = false;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Conv2d>("conv2d", "0.1.0",
                                        "2-D convolution over [C, H, W] images (NCHW)",
                                        kConv2dParams))
