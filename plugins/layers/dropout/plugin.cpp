// Inverted dropout (Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov, 2014,
// "Dropout: A Simple Way to Prevent Neural Networks from Overfitting"): in train mode each
// unit is kept with probability 1 - rate and kept units are scaled by 1/(1 - rate), so the
// expected output equals the input and infer mode is the identity.
//
// The mask comes from the device's counter-based generator: the layer's seed plus a counter
// advanced on every train-mode forward, so a run is reproducible from its seed and every step
// draws a fresh mask. The mask (already scaled) is kept for backward.
//
// Spatial dropout (Tompson, Goroshin, Jain, LeCun & Bregler, 2015, "Efficient Object
// Localization Using Convolutional Networks"; Keras SpatialDropout2D) drops whole channels of
// an image instead: neighbouring pixels of a feature map are strongly correlated, so dropping
// single pixels barely removes information, while dropping a channel does. The mask is drawn
// per (sample, channel) and broadcast over the plane with a K = 1 GEMM against a row of ones:
// the device has no column broadcast, and the outer product writes the expanded mask in one
// pass.
#include <cstdint>
#include <limits>
#include <string>

#include "plexus/plexus.hpp"

namespace {

using plexus::Tensor;

constexpr double kInf = std::numeric_limits<double>::infinity();

constexpr plexus::ParamSpec kDropoutParams[] = {
    {"rate", plexus::ParamType::real, "0.5", 0, 1, nullptr,
     "Fraction of units dropped in train mode; kept units are scaled by 1/(1-rate)",
     plexus::kMaxExclusive},
    {"spatial", plexus::ParamType::boolean, "false", -kInf, kInf, nullptr,
     "Drop whole channels of images [C, H, W] (axis 1 of inputs of rank >= 3), as Keras "
     "SpatialDropout2D (Tompson et al., 2015)",
     0},
};

class Dropout final : public plexus::Layer {
public:
    explicit Dropout(const plexus::Params& params)
        : rate_(static_cast<float>(params.get_real("rate"))), spatial_(params.get_bool("spatial")) {}

    plexus::Shape build(const plexus::Shape& input, plexus::Device& device,
                        const plexus::BuildContext& context) override {
        if (input.rank() < 1) throw plexus::ShapeError("dropout: expected input [batch, ...]");
        if (spatial_ && (input.rank() < 3 || input.cols() == 0))
            throw plexus::ShapeError("dropout: spatial=true drops whole channels of images "
                                     "[batch, C, H, W] (rank >= 3), got " + input.str() +
                                     "; use spatial=false for features");
        seed_ = context.seed;
        counter_ = 0;
        masked_rows_ = 0;
        if (rate_ == 0.0f) return input;
        mask_ = device.alloc({input.rows(), input.cols()});
        if (spatial_) {
            channels_ = input[1];
            plane_ = input.cols() / channels_;
            draw_ = device.alloc({input.rows(), channels_});
            ones_ = device.alloc({1, plane_});
            device.fill(ones_, 1.0f);
        }
        return input;
    }

    void forward(const Tensor& x, const Tensor& y, plexus::Mode mode) override {
        plexus::Device& device = *x.device();
        masked_rows_ = 0;
        if (mode == plexus::Mode::infer || rate_ == 0.0f) {
            device.copy(x, y);
            return;
        }
        const Tensor mask = mask_view(x);
        const std::size_t n = x.rows();
        // Channels are drawn and scaled before the expansion: plane_ times fewer values.
        const Tensor draw = spatial_ ? draw_.rows(0, n) : mask;
        device.random(plexus::Distribution::bernoulli, seed_, ++counter_, draw, 1.0f - rate_, 0.0f);
        device.unary(plexus::UnaryOp::scale, draw, draw, 1.0f / (1.0f - rate_));
        if (spatial_)
            device.gemm(plexus::Transpose::no, plexus::Transpose::no, 1.0f,
                        draw.reshaped({n * channels_, 1}), ones_, 0.0f,
                        mask.reshaped({n * channels_, plane_}));
        device.binary(plexus::BinaryOp::mul, x, mask, y);
        masked_rows_ = x.rows();
    }

    // dx = dy * mask with the mask of the last train-mode forward; after an infer-mode
    // forward (or with rate 0) the layer is the identity and so is its gradient.
    void backward(const Tensor& x, const Tensor&, const Tensor& dy, const Tensor* dx) override {
        if (!dx) return;
        plexus::Device& device = *x.device();
        if (masked_rows_ == 0) {
            device.copy(dy, *dx);
            return;
        }
        if (masked_rows_ != x.rows())
            throw plexus::ShapeError("dropout: backward of " + std::to_string(x.rows()) +
                                     " rows after a forward of " + std::to_string(masked_rows_));
        device.binary(plexus::BinaryOp::mul, dy, mask_view(x), *dx);
    }

    // The counter is the only thing a resumed run needs: the masks are a pure function of it.
    void checkpoint(plexus::SavedState& out) const override { out.set_count("counter", counter_); }
    void resume(const plexus::SavedState& in) override { counter_ = in.count("counter"); }

private:
    Tensor mask_view(const Tensor& x) const {
        if (mask_.empty()) throw plexus::ShapeError("dropout: forward called before build()");
        if (x.cols() != mask_.cols() || x.rows() > mask_.rows())
            throw plexus::ShapeError("dropout: built for up to " + std::to_string(mask_.rows()) +
                                     " rows of " + std::to_string(mask_.cols()) +
                                     " values, got " + x.shape().str());
        return mask_.rows(0, x.rows());
    }

    float rate_;
    bool spatial_;
    std::uint64_t seed_ = 0;
    std::uint64_t counter_ = 0;    // advanced before every train-mode draw
    std::size_t masked_rows_ = 0;  // rows of the last train-mode forward; 0: identity
    Tensor mask_;                  // [max batch, features], holding 0 or 1/(1-rate)
    std::size_t channels_ = 0;     // spatial: C, and H*W values per channel
    std::size_t plane_ = 0;
    Tensor draw_;  // spatial: [max batch, C], the mask per channel before the broadcast
    Tensor ones_;  // spatial: [1, H*W] of ones, the other factor of the broadcast
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Dropout>(
    "dropout", "0.1.0",
    "Inverted dropout (Srivastava et al., 2014): drop units (or, spatial, whole channels) with "
    "probability rate in training",
    kDropoutParams))
