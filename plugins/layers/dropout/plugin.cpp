// Inverted dropout (Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov, 2014,
// "Dropout: A Simple Way to Prevent Neural Networks from Overfitting"): in train mode each
// unit is kept with probability 1 - rate and kept units are scaled by 1/(1 - rate), so the
// expected output equals the input and infer mode is the identity.
//
// The mask comes from the device's counter-based generator: the layer's seed plus a counter
// advanced on every train-mode forward, so a run is reproducible from its seed and every step
// draws a fresh mask. The mask (already scaled) is kept for backward.
#include <cstdint>
#include <string>

#include "plexus/plexus.hpp"

namespace {

using plexus::Tensor;

constexpr plexus::ParamSpec kDropoutParams[] = {
    {"rate", plexus::ParamType::real, "0.5", 0, 1, nullptr,
     "Fraction of units dropped in train mode; kept units are scaled by 1/(1-rate)",
     plexus::kMaxExclusive},
};

class Dropout final : public plexus::Layer {
public:
    explicit Dropout(const plexus::Params& params)
        : rate_(static_cast<float>(params.get_real("rate"))) {}

    plexus::Shape build(const plexus::Shape& input, plexus::Device& device,
                        const plexus::BuildContext& context) override {
        if (input.rank() < 1) throw plexus::ShapeError("dropout: expected input [batch, ...]");
        seed_ = context.seed;
        counter_ = 0;
        masked_rows_ = 0;
        if (rate_ > 0.0f) mask_ = device.alloc({input.rows(), input.cols()});
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
        device.random(plexus::Distribution::bernoulli, seed_, ++counter_, mask, 1.0f - rate_, 0.0f);
        device.unary(plexus::UnaryOp::scale, mask, mask, 1.0f / (1.0f - rate_));
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
    std::uint64_t seed_ = 0;
    std::uint64_t counter_ = 0;    // advanced before every train-mode draw
    std::size_t masked_rows_ = 0;  // rows of the last train-mode forward; 0: identity
    Tensor mask_;                  // [max batch, features], holding 0 or 1/(1-rate)
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Dropout>(
    "dropout", "0.1.0",
    "Inverted dropout (Srivastava et al., 2014): drop units with probability rate in training",
    kDropoutParams))
