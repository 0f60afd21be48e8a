// Batch normalization (Ioffe & Szegedy, 2015, "Batch Normalization: Accelerating Deep Network
// Training by Reducing Internal Covariate Shift"): normalizes each feature (column) over the
// mini-batch, then scales and shifts with learned gamma and beta; running statistics, kept as
// an exponential moving average in the Keras convention, are used at inference.
//
// On images [N, C, H, W] a feature is a channel, normalised over (N, H, W) as the paper's
// section 3.2 does for convolutional layers (Keras BatchNormalization(axis=1), PyTorch
// BatchNorm2d). A device with the fused keys runs them on the NCHW tensors as they are
// (spatial = H*W, plexus/fused.hpp). Otherwise the layer transposes NCHW to NHWC, whose
// [N*H*W, C] view is exactly the dense case, runs the dense pass on it and transposes back.
//
// A device may run a whole pass as one kernel through try_fused(fused::BatchNormForwardTrain /
// BatchNormForwardInfer / BatchNormBackward, plexus/fused.hpp); the primitive path below is
// the reference.
//
// A frozen layer (Layer::set_trainable(false): [model] freeze, or an unfreeze callback not yet
// reached) normalises with its running statistics in train mode too and leaves them as they
// are, as Keras does since 2.1.3: fine-tuning then sees the features the saved model was
// trained to produce, where batch statistics of a small new dataset would shift them. Its
// backward is that affine map's: dx = dy * gamma / sqrt(moving_variance + epsilon). Every
// workspace is allocated in build() for the largest batch and used
// through row views, so forward and backward allocate nothing.
//
// sync=true on several ranks (mpirun; SyncBatchNorm, Ioffe & Szegedy's batch taken over every
// rank's share, as PyTorch's SyncBatchNorm): the mean and then the variance are summed over the
// ranks (BuildContext::collective) before normalising, and backward sums dy and dy*xhat the
// same way, each rank's weighted by its share as the trainer weighs its gradients. It runs the
// primitive path (the fused keys compute their statistics inside one kernel).
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"

namespace {

using plexus::Axis;
using plexus::BinaryOp;
using plexus::ParamSpec;
using plexus::ParamType;
using plexus::Tensor;
using plexus::UnaryOp;

constexpr double kInf = std::numeric_limits<double>::infinity();

constexpr ParamSpec kBatchNormParams[] = {
    {"momentum", ParamType::real, "0.99", 0, 1, nullptr,
     "Weight of the old value in the running averages: moving = momentum*moving + "
     "(1-momentum)*batch (Keras convention; PyTorch's momentum is 1 - this)",
     plexus::kMaxExclusive},
    {"epsilon", ParamType::real, "1e-3", 0, kInf, nullptr,
     "Added to the variance before the square root", plexus::kMinExclusive},
    {"center", ParamType::boolean, "true", -kInf, kInf, nullptr,
     "Learn a shift beta (initialised to 0)", 0},
    {"scale", ParamType::boolean, "true", -kInf, kInf, nullptr,
     "Learn a scale gamma (initialised to 1)", 0},
    {"fused", ParamType::boolean, "true", -kInf, kInf, nullptr,
     "Use the device's fused kernel when it has one (false forces the primitive path)", 0},
    {"sync", ParamType::boolean, "false", -kInf, kInf, nullptr,
     "Several ranks (mpirun): batch statistics over the whole batch, every rank's share "
     "(SyncBatchNorm); alone it changes nothing",
     0},
};

class BatchNorm final : public plexus::Layer {
public:
    explicit BatchNorm(const plexus::Params& params)
        : momentum_(static_cast<float>(params.get_real("momentum"))),
          epsilon_(static_cast<float>(params.get_real("epsilon"))),
          center_(params.get_bool("center")),
          scale_(params.get_bool("scale")),
          fused_(params.get_bool("fused")),
          sync_(params.get_bool("sync")) {
        gamma_.name = "gamma";
        beta_.name = "beta";
    }

    plexus::Shape build(const plexus::Shape& input, plexus::Device& device,
                        const plexus::BuildContext& context) override {
        if (input.rank() < 2 || input.cols() == 0)
            throw plexus::ShapeError("batchnorm: expected input [batch, features...], got " +
                                     input.str());
        // Only rank 4 is an image: rank 3 may be a sequence [N, T, F] as well as a one-channel
        // [N, H, W] image, so it keeps the per-feature reading. A 1x1 plane needs no transpose.
        const bool image = input.rank() == 4 && input[2] * input[3] > 1;
        channels_ = image ? input[1] : input.cols();
        plane_ = image ? input[2] * input[3] : 1;
        max_batch_ = input.rows();
        ranks_ = sync_ && context.collective && context.collective->size() > 1
                     ? context.collective
                     : nullptr;
        planes_ = image && fused_ && !ranks_ && has_fused_keys(device);
        sums_.assign(ranks_ ? channels_ + 1 : 0, 0.0f);
        const plexus::Shape row{channels_}, batch{max_batch_ * plane_, channels_};
        gamma_.value = device.alloc(row);
        gamma_.grad = device.alloc(row);
        beta_.value = device.alloc(row);
        beta_.grad = device.alloc(row);
        device.fill(gamma_.value, 1.0f);
        device.fill(beta_.value, 0.0f);
        device.fill(gamma_.grad, 0.0f);
        device.fill(beta_.grad, 0.0f);
        moving_mean_ = device.alloc(row);
        moving_variance_ = device.alloc(row);
        device.fill(moving_mean_, 0.0f);
        device.fill(moving_variance_, 1.0f);
        mean_ = device.alloc(row);
        variance_ = device.alloc(row);
        invstd_ = device.alloc(row);
        coef_ = device.alloc(row);
        shift_ = device.alloc(row);
        xhat_ = device.alloc(batch);
        // The fused kernels on planes need neither the primitive path's scratch nor NHWC.
        tmp_ = planes_ ? Tensor{} : device.alloc(batch);
        // The planes path needs it only for a frozen layer's backward, which has no fused key.
        nhwc_ = image ? device.alloc(batch) : Tensor{};
        trained_rows_ = 0;
        frozen_rows_ = 0;
        return input;
    }

    void forward(const Tensor& x, const Tensor& y, plexus::Mode mode) override {
        check(x, "forward");
        plexus::Device& device = *x.device();
        const std::size_t n = x.rows();
        const bool frozen_train = frozen_ && mode == plexus::Mode::train;
        if (frozen_) mode = plexus::Mode::infer;
        if (plane_ == 1) {
            normalize(device, x.reshaped({n, channels_}), y.reshaped({n, channels_}), mode);
        } else if (planes_) {
            normalize_planes(device, x, y, mode);
        } else {
            // In place in the NHWC workspace: every pass allows y to alias x.
            const Tensor t = nhwc_.rows(0, n * plane_);
            device.transpose(x, t, n, channels_, plane_);
            normalize(device, t, t, mode);
            device.transpose(t, y, n, plane_, channels_);
        }
        frozen_rows_ = frozen_train ? n * plane_ : 0;
    }

    void set_trainable(bool trainable) override {
        frozen_ = !trainable;
        gamma_.trainable = trainable;
        beta_.trainable = trainable;
    }

    void backward(const Tensor& x, const Tensor&, const Tensor& dy, const Tensor* dx) override {
        check(x, "backward");
        const std::size_t n = x.rows();
        if (frozen_rows_ != 0 && frozen_rows_ == n * plane_)
            return backward_frozen(*x.device(), dy, dx);
        if (trained_rows_ != n * plane_)
            throw plexus::ShapeError(
                "batchnorm: backward needs a train-mode forward of the same batch first");
        plexus::Device& device = *x.device();
        if (plane_ == 1) {
            Tensor dx2;
            if (dx) dx2 = dx->reshaped({n, channels_});
            backward_rows(device, dy.reshaped({n, channels_}), dx ? &dx2 : nullptr);
            return;
        }
        if (planes_) {
            // The same operands as the dense path: dx (may alias dy) is NCHW as dy is.
            ran(device.try_fused(plexus::fused::BatchNormBackward{.dy = dy,
                                                                  .xhat = xhat_.rows(0, n * plane_),
                                                                  .gamma = gamma(),
                                                                  .invstd = invstd_,
                                                                  .dx = dx,
                                                                  .dgamma = gamma_.grad,
                                                                  .dbeta = beta_.grad,
                                                                  .spatial = plane_}));
            return;
        }
        // dx may alias dy, so the NHWC gradient is computed in place.
        const Tensor t = nhwc_.rows(0, n * plane_);
        device.transpose(dy, t, n, channels_, plane_);
        backward_rows(device, t, dx ? &t : nullptr);
        if (dx) device.transpose(t, *dx, n, plane_, channels_);
    }

    std::vector<plexus::Parameter*> parameters() override {
        std::vector<plexus::Parameter*> out;
        if (scale_) out.push_back(&gamma_);
        if (center_) out.push_back(&beta_);
        return out;
    }

    std::vector<plexus::NamedTensor> state() override {
        return {{"moving_mean", moving_mean_}, {"moving_variance", moving_variance_}};
    }

private:
    const Tensor* gamma() const { return scale_ ? &gamma_.value : nullptr; }
    const Tensor* beta() const { return center_ ? &beta_.value : nullptr; }

    // Whether the device runs all three passes on NCHW planes; with only some of the keys
    // the transposed path keeps xhat in one layout for forward and backward.
    static bool has_fused_keys(const plexus::Device& device) {
        using plexus::fused::Key;
        const plexus::fused::KeySet keys = device.fused_keys();
        return keys.contains(Key::batchnorm_forward_train) &&
               keys.contains(Key::batchnorm_forward_infer) &&
               keys.contains(Key::batchnorm_backward);
    }

    // build() chose the planes path because the device lists the keys, so it cannot decline.
    static void ran(bool ran) {
        if (!ran)
            throw plexus::DeviceError(
                "batchnorm: the device declined a fused key it listed in fused_keys() at build");
    }

    // Forward on NCHW images with the device's fused kernels, statistics over (N, H, W).
    void normalize_planes(plexus::Device& device, const Tensor& x, const Tensor& y,
                          plexus::Mode mode) {
        const std::size_t n = x.rows();
        if (mode == plexus::Mode::infer) {
            trained_rows_ = 0;
            ran(device.try_fused(
                plexus::fused::BatchNormForwardInfer{.x = x,
                                                     .gamma = gamma(),
                                                     .beta = beta(),
                                                     .moving_mean = moving_mean_,
                                                     .moving_variance = moving_variance_,
                                                     .y = y,
                                                     .epsilon = epsilon_,
                                                     .spatial = plane_}));
            return;
        }
        trained_rows_ = n * plane_;  // a plane holds at least two values: one image trains
        ran(device.try_fused(
            plexus::fused::BatchNormForwardTrain{.x = x,
                                                 .gamma = gamma(),
                                                 .beta = beta(),
                                                 .y = y,
                                                 .xhat = xhat_.rows(0, n * plane_),
                                                 .mean = mean_,
                                                 .invstd = invstd_,
                                                 .moving_mean = moving_mean_,
                                                 .moving_variance = moving_variance_,
                                                 .epsilon = epsilon_,
                                                 .momentum = momentum_,
                                                 .spatial = plane_}));
    }

    // The dense pass on [n, channels] rows: x2 is the input, y2 the output (may alias x2).
    void normalize(plexus::Device& device, const Tensor& x2, const Tensor& y2,
                   plexus::Mode mode) {
        const std::size_t n = x2.rows();
        Tensor xhat = xhat_.rows(0, n);
        if (mode == plexus::Mode::infer) {
            trained_rows_ = 0;
            if (fused_ && device.try_fused(plexus::fused::BatchNormForwardInfer{
                              .x = x2,
                              .gamma = gamma(),
                              .beta = beta(),
                              .moving_mean = moving_mean_,
                              .moving_variance = moving_variance_,
                              .y = y2,
                              .epsilon = epsilon_}))
                return;
            // Fold the statistics into one affine map: y = x*coef + shift with
            // coef = gamma/sqrt(var+eps), shift = beta - mean*coef.
            device.unary(UnaryOp::add_scalar, moving_variance_, coef_, epsilon_);
            device.unary(UnaryOp::sqrt, coef_, coef_);
            device.unary(UnaryOp::reciprocal, coef_, coef_);
            if (scale_) device.binary(BinaryOp::mul, coef_, gamma_.value, coef_);
            device.binary(BinaryOp::mul, moving_mean_, coef_, shift_);
            if (center_)
                device.binary(BinaryOp::sub, beta_.value, shift_, shift_);
            else
                device.unary(UnaryOp::neg, shift_, shift_);
            device.binary(BinaryOp::mul, x2, coef_, y2);
            device.binary(BinaryOp::add, y2, shift_, y2);
            return;
        }
        // Only a dense batch can get here with one row: an image plane has at least two.
        if (ranks_) return normalize_synced(device, x2, y2, xhat);
        if (n < 2)
            throw plexus::ShapeError(
                "batchnorm: a training batch of 1 sample has no variance; use batch_size >= 2 "
                "(or drop the last partial batch)");
        trained_rows_ = n;
        if (fused_ && device.try_fused(plexus::fused::BatchNormForwardTrain{
                          .x = x2,
                          .gamma = gamma(),
                          .beta = beta(),
                          .y = y2,
                          .xhat = xhat,
                          .mean = mean_,
                          .invstd = invstd_,
                          .moving_mean = moving_mean_,
                          .moving_variance = moving_variance_,
                          .epsilon = epsilon_,
                          .momentum = momentum_}))
            return;
        const Tensor tmp = tmp_.rows(0, n);
        device.reduce(plexus::ReduceOp::mean, x2, Axis::rows, mean_);
        device.binary(BinaryOp::sub, x2, mean_, xhat);  // centred x, normalised below
        device.unary(UnaryOp::square, xhat, tmp);
        device.reduce(plexus::ReduceOp::mean, tmp, Axis::rows, variance_);  // biased
        device.unary(UnaryOp::add_scalar, variance_, invstd_, epsilon_);
        device.unary(UnaryOp::sqrt, invstd_, invstd_);
        device.unary(UnaryOp::reciprocal, invstd_, invstd_);
        device.binary(BinaryOp::mul, xhat, invstd_, xhat);
        affine(device, xhat, y2);  // x2 is no longer read: y2 may alias it
        device.axpby(1.0f - momentum_, mean_, momentum_, moving_mean_);
        device.axpby(1.0f - momentum_, variance_, momentum_, moving_variance_);
    }

    // A frozen layer's forward was y = x*coef + shift per channel, so dx = dy*coef; gamma and
    // beta get no gradient (the optimizer skips them). dx may alias dy.
    void backward_frozen(plexus::Device& device, const Tensor& dy, const Tensor* dx) {
        if (!dx) return;
        device.unary(UnaryOp::add_scalar, moving_variance_, coef_, epsilon_);
        device.unary(UnaryOp::sqrt, coef_, coef_);
        device.unary(UnaryOp::reciprocal, coef_, coef_);
        if (scale_) device.binary(BinaryOp::mul, coef_, gamma_.value, coef_);
        const std::size_t rows = frozen_rows_, n = rows / plane_;
        if (plane_ == 1) {
            device.binary(BinaryOp::mul, dy.reshaped({rows, channels_}), coef_,
                          dx->reshaped({rows, channels_}));
            return;
        }
        const Tensor t = nhwc_.rows(0, rows);
        device.transpose(dy, t, n, channels_, plane_);
        device.binary(BinaryOp::mul, t, coef_, t);
        device.transpose(t, *dx, n, plane_, channels_);
    }

    // The dense backward on [n, channels] rows: dx = gamma*invstd/n * (n*dy - sum(dy) -
    // xhat*sum(dy*xhat)); dgamma = sum(dy*xhat); dbeta = sum(dy). dx is written last, so it
    // may alias dy.
    void backward_rows(plexus::Device& device, const Tensor& dy2, const Tensor* dx2) {
        const std::size_t n = dy2.rows();
        const Tensor xhat = xhat_.rows(0, n);
        // Without scale/center the sums still feed dx; they land in the unused grads.
        if (ranks_) return backward_synced(device, dy2, dx2);
        if (fused_ && device.try_fused(plexus::fused::BatchNormBackward{.dy = dy2,
                                                                       .xhat = xhat,
                                                                       .gamma = gamma(),
                                                                       .invstd = invstd_,
                                                                       .dx = dx2,
                                                                       .dgamma = gamma_.grad,
                                                                       .dbeta = beta_.grad}))
            return;
        device.reduce(plexus::ReduceOp::sum, dy2, Axis::rows, beta_.grad);
        const Tensor tmp = tmp_.rows(0, n);
        device.binary(BinaryOp::mul, dy2, xhat, tmp);
        device.reduce(plexus::ReduceOp::sum, tmp, Axis::rows, gamma_.grad);
        if (!dx2) return;
        device.binary(BinaryOp::mul, xhat, gamma_.grad, tmp);
        device.binary(BinaryOp::add, tmp, beta_.grad, tmp);
        device.axpby(static_cast<float>(n), dy2, -1.0f, tmp);
        device.unary(UnaryOp::scale, invstd_, coef_, 1.0f / static_cast<float>(n));
        if (scale_) device.binary(BinaryOp::mul, coef_, gamma_.value, coef_);
        device.binary(BinaryOp::mul, tmp, coef_, *dx2);
    }

    // Sums `values` ([channels], on the device) over the ranks, each rank's weighted by
    // `weight`; with `rows`, also the rows behind them, returned (else 0).
    float sum_over_ranks(plexus::Device& device, const Tensor& values, float weight,
                         std::size_t rows = 0) {
        const std::span<float> host(sums_.data(), channels_ + (rows ? 1 : 0));
        device.download(values, host.first(channels_));
        for (float& v : host.first(channels_)) v *= weight;
        if (rows) host[channels_] = static_cast<float>(rows);
        ranks_->allreduce_sum(host);
        device.upload(values, std::span<const float>(host.data(), channels_));
        return rows ? host[channels_] : 0.0f;
    }

    // The train-mode pass over every rank's rows: the global mean first, then the global
    // variance about it (two sums, not Σx² - mean², which cancels).
    void normalize_synced(plexus::Device& device, const Tensor& x2, const Tensor& y2,
                          const Tensor& xhat) {
        const std::size_t n = x2.rows();
        const Tensor tmp = tmp_.rows(0, n);
        device.reduce(plexus::ReduceOp::sum, x2, Axis::rows, mean_);
        global_rows_ = sum_over_ranks(device, mean_, 1.0f, n);
        if (global_rows_ < 2.0f)
            throw plexus::ShapeError("batchnorm: a training batch of 1 sample has no variance; "
                                     "use batch_size >= 2");
        device.unary(UnaryOp::scale, mean_, mean_, 1.0f / global_rows_);
        device.binary(BinaryOp::sub, x2, mean_, xhat);
        device.unary(UnaryOp::square, xhat, tmp);
        device.reduce(plexus::ReduceOp::sum, tmp, Axis::rows, variance_);
        sum_over_ranks(device, variance_, 1.0f);
        device.unary(UnaryOp::scale, variance_, variance_, 1.0f / global_rows_);  // biased
        trained_rows_ = n;
        device.unary(UnaryOp::add_scalar, variance_, invstd_, epsilon_);
        device.unary(UnaryOp::sqrt, invstd_, invstd_);
        device.unary(UnaryOp::reciprocal, invstd_, invstd_);
        device.binary(BinaryOp::mul, xhat, invstd_, xhat);
        affine(device, xhat, y2);
        device.axpby(1.0f - momentum_, mean_, momentum_, moving_mean_);
        device.axpby(1.0f - momentum_, variance_, momentum_, moving_variance_);
    }

    // dy is the gradient of this rank's mean loss, which the trainer weighs by its share
    // w = n / global rows. Over the global batch, dx = gamma*invstd*(dy - (A + xhat*B)/n) with
    // A = Σ_ranks w·Σdy and B = Σ_ranks w·Σdy*xhat; dgamma, dbeta stay this rank's sums.
    void backward_synced(plexus::Device& device, const Tensor& dy2, const Tensor* dx2) {
        const std::size_t n = dy2.rows();
        const Tensor xhat = xhat_.rows(0, n), tmp = tmp_.rows(0, n);
        device.reduce(plexus::ReduceOp::sum, dy2, Axis::rows, beta_.grad);
        device.binary(BinaryOp::mul, dy2, xhat, tmp);
        device.reduce(plexus::ReduceOp::sum, tmp, Axis::rows, gamma_.grad);
        const float share = static_cast<float>(n) / global_rows_;
        // The ranks sum even when dx is not wanted: every rank makes the same calls.
        device.copy(beta_.grad, variance_);
        sum_over_ranks(device, variance_, share);  // A
        device.copy(gamma_.grad, shift_);
        sum_over_ranks(device, shift_, share);  // B
        if (!dx2) return;
        device.binary(BinaryOp::mul, xhat, shift_, tmp);
        device.binary(BinaryOp::add, tmp, variance_, tmp);
        device.axpby(1.0f, dy2, -1.0f / static_cast<float>(n), tmp);
        if (scale_)
            device.binary(BinaryOp::mul, invstd_, gamma_.value, coef_);
        else
            device.copy(invstd_, coef_);
        device.binary(BinaryOp::mul, tmp, coef_, *dx2);
    }

    void affine(plexus::Device& device, const Tensor& xhat, const Tensor& y) const {
        if (scale_)
            device.binary(BinaryOp::mul, xhat, gamma_.value, y);
        else
            device.copy(xhat, y);
        if (center_) device.binary(BinaryOp::add, y, beta_.value, y);
    }

    void check(const Tensor& x, const char* where) const {
        if (xhat_.empty())
            throw plexus::ShapeError(std::string("batchnorm: ") + where +
                                     " called before build()");
        if (x.cols() != channels_ * plane_ || x.rows() > max_batch_)
            throw plexus::ShapeError(
                "batchnorm: built for up to " + std::to_string(max_batch_) + " rows of " +
                std::to_string(channels_ * plane_) +
                (plane_ == 1 ? " features" : " values (" + std::to_string(channels_) +
                                                 " channels)") +
                ", got " + x.shape().str());
    }

    float momentum_;
    float epsilon_;
    bool center_;
    bool scale_;
    bool fused_;
    bool sync_;
    plexus::Collective* ranks_ = nullptr;  // sync on several ranks; null: statistics per rank
    std::vector<float> sums_;              // [channels + 1] host values the ranks sum
    float global_rows_ = 0.0f;             // rows of the last synced train forward, all ranks
    bool frozen_ = false;           // set_trainable(false): running statistics in train mode
    std::size_t frozen_rows_ = 0;   // [rows, channels] rows of the last frozen train forward
    bool planes_ = false;           // images through the device's fused kernels, no transpose
    std::size_t channels_ = 0;      // the normalised features: C of an image, else all
    std::size_t plane_ = 1;         // H*W of an image, else 1
    std::size_t max_batch_ = 0;     // samples per batch at most (from build)
    std::size_t trained_rows_ = 0;  // [rows, channels] rows of the last train forward; 0: infer
    plexus::Parameter gamma_;
    plexus::Parameter beta_;
    Tensor moving_mean_, moving_variance_;
    Tensor mean_, variance_, invstd_, coef_, shift_;  // [channels]
    Tensor xhat_;  // [max batch * plane, channels]; NCHW on the planes path
    Tensor tmp_;   // [max batch * plane, channels]: primitive path's scratch; planes: none
    Tensor nhwc_;  // [max batch * plane, channels]: the NHWC image or its gradient; dense: none
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<BatchNorm>(
    "batchnorm", "0.1.0",
    "Batch normalization (Ioffe & Szegedy, 2015): per-feature (on images per-channel) batch "
    "statistics, learned gamma/beta, running averages at inference",
    kBatchNormParams))
