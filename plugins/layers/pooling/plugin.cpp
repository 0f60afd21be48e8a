// Pooling layers, one library: max_pool2d, avg_pool2d, global_max_pool2d, global_avg_pool2d.
// Pooling summarises each window of every channel by its maximum or mean, so later layers
// see a smaller map that moves little when the input shifts by a pixel (Ranzato et al., 2007;
// Boureau, Ponce & LeCun, "A theoretical analysis of feature pooling", 2010). The global
// variants pool a whole channel to one value, [N, C, H, W] -> [N, C] (Lin, Chen & Yan,
// "Network in network", 2014), the usual bridge from convolutions to a classifier.
//
// Each is one device op forward (pool2d) and one backward (pool2d_backward). Max pooling
// keeps, in train mode, the index of each window's maximum (the first on ties, as TensorFlow
// and PyTorch) in a workspace sized in build(), so backward sends dy there without a search.
// Padding is never part of a window: "same" max pooling ignores it and "same" average pooling
// divides by the in-bounds count only, as Keras.
#include <cstddef>
#include <limits>
#include <string>

#include "plexus/plexus.hpp"
#include "plexus/support/window.hpp"

namespace {

using plexus::PoolOp;
using plexus::Tensor;

constexpr plexus::ParamSpec kPoolParams[] = {
    {"size", plexus::ParamType::string, "2", 0, 0, nullptr,
     "Window size: 2 (2x2) or HxW such as 3x2 (Keras's pool_size)", 0},
    {"stride", plexus::ParamType::string, "", 0, 0, nullptr,
     "Step between windows: 2 (2x2) or HxW; empty (the default) is the window size, so "
     "windows do not overlap (Keras's strides=None)",
     0},
    {"padding", plexus::ParamType::choice, "valid", 0, 0, "valid|same",
     "valid (windows wholly inside the input) or same (output ceil(H/stride); padding is "
     "never pooled, the odd row at the bottom as TensorFlow)",
     0},
};

struct PoolConfig {
    PoolOp op;
    bool global;  // one window over the whole plane, output [N, C]
    const char* name;
};

plexus::support::WindowSpec parse_spec(const plexus::Params& params, const char* name) {
    plexus::support::WindowSpec spec;
    spec.kernel = plexus::support::parse_size2d(params.get_string("size"), name, "size");
    const std::string& stride = params.get_string("stride");
    spec.stride =
        stride.empty() ? spec.kernel : plexus::support::parse_size2d(stride, name, "stride");
    spec.padding = plexus::support::parse_padding(params.get_string("padding"), name);
    return spec;
}

class Pool2d : public plexus::Layer {
public:
    Pool2d(PoolConfig config, plexus::support::WindowSpec spec) : config_(config), spec_(spec) {}

    plexus::Shape build(const plexus::Shape& input, plexus::Device& device,
                        const plexus::BuildContext&) override {
        if (config_.global && (input.rank() == 3 || input.rank() == 4)) {
            spec_.kernel = {input[input.rank() - 2], input[input.rank() - 1]};
            spec_.stride = {1, 1};
        }
        window_ = plexus::support::make_window(input, spec_, config_.name);
        sample_numel_ = input.cols();
        const std::size_t n = window_.batch, c = window_.channels;
        if (config_.op == PoolOp::max) argmax_ = device.alloc({n, c, window_.out_h, window_.out_w});
        argmax_rows_ = 0;
        if (config_.global) return {n, c};
        return {n, c, window_.out_h, window_.out_w};
    }

    void forward(const Tensor& x, const Tensor& y, plexus::Mode mode) override {
        const plexus::Window2d w = window_for(x);
        const bool keep = config_.op == PoolOp::max && mode == plexus::Mode::train;
        x.device()->pool2d(config_.op, x, y, keep ? argmax_.rows(0, w.batch) : Tensor(), w);
        argmax_rows_ = keep ? w.batch : 0;
    }

    void backward(const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor* dx) override {
        const plexus::Window2d w = window_for(x);
        if (!dx) return;
        Tensor argmax;
        if (config_.op == PoolOp::max) {
            argmax = argmax_.rows(0, w.batch);
            // After an infer-mode forward the indices were not kept: find them again (y is
            // rewritten with the values it already holds).
            if (argmax_rows_ != w.batch) x.device()->pool2d(PoolOp::max, x, y, argmax, w);
            argmax_rows_ = w.batch;
        }
        x.device()->pool2d_backward(config_.op, dy, argmax, *dx, w);
    }

private:
    plexus::Window2d window_for(const Tensor& x) const {
        if (sample_numel_ == 0)
            throw plexus::ShapeError(std::string(config_.name) +
                                     ": forward/backward called before build()");
        if (x.rows() == 0 || x.rows() > window_.batch || x.cols() != sample_numel_)
            throw plexus::ShapeError(
                std::string(config_.name) + ": built for up to " + std::to_string(window_.batch) +
                " samples of " + std::to_string(sample_numel_) + " values, got " + x.shape().str());
        return plexus::support::with_batch(window_, x.rows());
    }

    PoolConfig config_;
    plexus::support::WindowSpec spec_;
    plexus::Window2d window_;
    std::size_t sample_numel_ = 0;
    Tensor argmax_;                // max only: [N, C, OH, OW] in-plane indices of the maxima
    std::size_t argmax_rows_ = 0;  // samples whose indices the last forward kept
};

class MaxPool2d final : public Pool2d {
public:
    explicit MaxPool2d(const plexus::Params& params)
        : Pool2d({PoolOp::max, false, "max_pool2d"}, parse_spec(params, "max_pool2d")) {}
};

class AvgPool2d final : public Pool2d {
public:
    explicit AvgPool2d(const plexus::Params& params)
        : Pool2d({PoolOp::avg, false, "avg_pool2d"}, parse_spec(params, "avg_pool2d")) {}
};

class GlobalMaxPool2d final : public Pool2d {
public:
    explicit GlobalMaxPool2d(const plexus::Params&)
        : Pool2d({PoolOp::max, true, "global_max_pool2d"}, {}) {}
};

class GlobalAvgPool2d final : public Pool2d {
public:
    explicit GlobalAvgPool2d(const plexus::Params&)
        : Pool2d({PoolOp::avg, true, "global_avg_pool2d"}, {}) {}
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<MaxPool2d>("max_pool2d", "0.1.0",
                                           "Maximum of each window of each channel (NCHW)",
                                           kPoolParams),
              plexus::component<AvgPool2d>("avg_pool2d", "0.1.0",
                                           "Mean of each window of each channel (NCHW)",
                                           kPoolParams),
              plexus::component<GlobalMaxPool2d>("global_max_pool2d", "0.1.0",
                                                 "Maximum of each channel: [N, C, H, W] -> [N, C]"),
              plexus::component<GlobalAvgPool2d>("global_avg_pool2d", "0.1.0",
                                                 "Mean of each channel: [N, C, H, W] -> [N, C]"))
