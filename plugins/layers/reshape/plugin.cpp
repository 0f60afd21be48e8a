// Shape-changing layers, one library: flatten ([N, ...] -> [N, prod]) and reshape
// (shape=CxHxW). Neither moves a value: the row-major order of each sample is kept, so
// flatten after a [C, H, W] map lists channel 0's pixels first (PyTorch's nn.Flatten order;
// Keras, channel-last, lists the channels of pixel 0 first). The values are copied because
// a layer's y is a tensor of its own (the model allocates it); backward copies dy to dx.
#include <charconv>
#include <cstddef>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/support/text.hpp"

namespace {

using plexus::Tensor;

constexpr plexus::ParamSpec kReshapeParams[] = {
    {"shape", plexus::ParamType::string, nullptr, 0, 0, nullptr,
     "Per-sample output shape, dimensions joined by x: 1x28x28, 784 or 7x7x64 (the batch "
     "dimension is kept; Keras's target_shape)",
     0},
};

// "1x28x28" -> [1, 28, 28]; up to Shape::kMaxRank - 1 dimensions (the batch comes first).
plexus::Shape parse_shape(const std::string& text) {
    plexus::Shape shape;
    const std::vector<std::string> dims = plexus::support::split(text, 'x');
    bool ok = dims.size() < plexus::Shape::kMaxRank;
    for (const std::string& d : dims) {
        std::size_t v = 0;
        const char* const end = d.data() + d.size();
        const auto r = std::from_chars(d.data(), end, v);
        ok = ok && !d.empty() && r.ec == std::errc() && r.ptr == end && v > 0;
        if (ok) shape.push_back(v);
    }
    if (!ok)
        throw plexus::ParamError("reshape: shape '" + text + "' must be 1 to " +
                                 std::to_string(plexus::Shape::kMaxRank - 1) +
                                 " positive sizes joined by x (e.g. shape=1x28x28 or shape=784)");
    return shape;
}

// Both layers: y = x with another per-sample shape.
class Regroup : public plexus::Layer {
public:
    plexus::Shape build(const plexus::Shape& input, plexus::Device&,
                        const plexus::BuildContext&) override {
        if (input.rank() < 2)
            throw plexus::ShapeError(std::string(name()) + ": expected input [batch, ...], got " +
                                     input.str());
        sample_numel_ = input.cols();
        return output(input);
    }
    void forward(const Tensor& x, const Tensor& y, plexus::Mode) override {
        check(x);
        x.device()->copy(x, y);
    }
    void backward(const Tensor& x, const Tensor&, const Tensor& dy, const Tensor* dx) override {
        check(x);
        if (dx) x.device()->copy(dy, *dx);
    }

protected:
    // The output shape for `input`, whose per-sample values number `input.cols()`.
    virtual plexus::Shape output(const plexus::Shape& input) const = 0;
    virtual const char* name() const = 0;

private:
    void check(const Tensor& x) const {
        if (x.cols() != sample_numel_)
            throw plexus::ShapeError(std::string(name()) + ": built for samples of " +
                                     std::to_string(sample_numel_) + " values, got " +
                                     x.shape().str());
    }

    std::size_t sample_numel_ = 0;
};

class Flatten final : public Regroup {
public:
    explicit Flatten(const plexus::Params&) {}

private:
    plexus::Shape output(const plexus::Shape& input) const override {
        return {input.rows(), input.cols()};
    }
    const char* name() const override { return "flatten"; }
};

class Reshape final : public Regroup {
public:
    explicit Reshape(const plexus::Params& params)
        : shape_(parse_shape(params.get_string("shape"))) {}

private:
    plexus::Shape output(const plexus::Shape& input) const override {
        plexus::Shape sample;
        for (std::size_t i = 1; i < input.rank(); ++i) sample.push_back(input[i]);
        if (shape_.numel() != input.cols())
            throw plexus::ShapeError("reshape: cannot reshape samples of shape " + sample.str() +
                                     " (" + std::to_string(input.cols()) + " values) into " +
                                     shape_.str() + " (" + std::to_string(shape_.numel()) +
                                     " values)");
        plexus::Shape out{input.rows()};
        for (std::size_t i = 0; i < shape_.rank(); ++i) out.push_back(shape_[i]);
        return out;
    }
    const char* name() const override { return "reshape"; }

    plexus::Shape shape_;  // per sample
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Flatten>("flatten", "0.1.0",
                                         "[N, ...] -> [N, features], values in row-major order"),
              plexus::component<Reshape>("reshape", "0.1.0",
                                         "[N, ...] -> [N, shape...], values in row-major order",
                                         kReshapeParams))
