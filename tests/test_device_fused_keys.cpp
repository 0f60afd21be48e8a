// Every fused key a device lists in fused_keys() must actually run when the component that
// uses it runs on that device: a key the device claims but the component never reaches (a
// misrouted overload, a component that stopped offering it) fails here. Runs on the cpu
// device and, where an OpenCL platform exists (PoCL in CI), on the opencl device.
#define BOOST_TEST_MODULE device_fused_keys
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"

namespace {

using plexus::Device;
using plexus::Tensor;
using plexus::fused::Key;
using plexus::testing::load;

// Kernels the opencl device compiles are cached in the build tree, not in ~/.cache.
struct CacheInBuildTree {
    CacheInBuildTree() {
        ::setenv("XDG_CACHE_HOME",
                 (std::string(PLEXUS_TEST_BUILD_DIR) + "/tests/opencl-cache").c_str(), 1);
    }
};
BOOST_TEST_GLOBAL_FIXTURE(CacheInBuildTree);

Tensor uniform(Device& d, const plexus::Shape& shape, std::uint64_t seed, float lo = -1,
               float hi = 1) {
    Tensor t = d.alloc(shape);
    d.random(plexus::Distribution::uniform, seed, 0, t, lo, hi);
    return t;
}

// A batchnorm layer's train forward and backward, then an infer forward.
void run_batchnorm(Device& d, plexus::Mode mode) {
    auto layer = load<plexus::Layer>("batchnorm", {PLEXUS_TEST_PLUGIN_DIR});
    const plexus::Shape shape{6, 5};
    layer->build(shape, d, {});
    const Tensor x = uniform(d, shape, 1), y = d.alloc(shape), dy = uniform(d, shape, 2),
                 dx = d.alloc(shape);
    layer->forward(x, y, mode);
    if (mode == plexus::Mode::train) layer->backward(x, y, dy, &dx);
    d.synchronize();
}

void run_softmax_cross_entropy(Device& d) {
    auto loss = load<plexus::Loss>("softmax_cross_entropy", {PLEXUS_TEST_PLUGIN_DIR});
    const plexus::Shape shape{4, 3};
    loss->build(shape, d);
    const Tensor pred = uniform(d, shape, 3), dpred = d.alloc(shape);
    const Tensor target =
        plexus::testing::make_tensor(d, shape, {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0});
    loss->forward(pred, target);
    loss->backward(pred, target, dpred);
    d.synchronize();
}

void run_optimizer(Device& d, const std::string& spec) {
    auto optimizer = load<plexus::Optimizer>(spec, {PLEXUS_TEST_PLUGIN_DIR});
    plexus::Parameter p{"w", uniform(d, {7}, 4), uniform(d, {7}, 5)};
    plexus::Parameter* params[] = {&p};
    optimizer->build(params, d);
    optimizer->step(params, optimizer->learning_rate());
    d.synchronize();
}

// A conv2d layer's forward and backward with dx (a 3x3 same convolution with bias).
void run_conv2d(Device& d, const std::string& spec = "conv2d filters=4 kernel=3 padding=same") {
    auto layer = load<plexus::Layer>(spec, {PLEXUS_TEST_PLUGIN_DIR});
    const plexus::Shape shape{2, 3, 5, 5};
    const plexus::Shape out = layer->build(shape, d, {});
    const Tensor x = uniform(d, shape, 6), y = d.alloc(out), dy = uniform(d, out, 7),
                 dx = d.alloc(shape);
    layer->forward(x, y, plexus::Mode::train);
    layer->backward(x, y, dy, &dx);
    d.synchronize();
}

// A recurrent layer's forward and backward with dx on a [2, 3, 4] sequence.
void run_recurrent(Device& d, const std::string& spec) {
    auto layer = load<plexus::Layer>(spec, {PLEXUS_TEST_PLUGIN_DIR});
    const plexus::Shape shape{2, 3, 4};
    const plexus::Shape out = layer->build(shape, d, {});
    const Tensor x = uniform(d, shape, 8), y = d.alloc(out), dy = uniform(d, out, 9),
                 dx = d.alloc(shape);
    layer->forward(x, y, plexus::Mode::train);
    layer->backward(x, y, dy, &dx);
    d.synchronize();
}

// The component that offers each key; a key added to plexus/fused.hpp without an entry here
// fails every_key_has_a_component.
const std::map<Key, std::function<void(Device&)>>& components() {
    static const std::map<Key, std::function<void(Device&)>> map = {
        {Key::batchnorm_forward_train, [](Device& d) { run_batchnorm(d, plexus::Mode::train); }},
        {Key::batchnorm_backward, [](Device& d) { run_batchnorm(d, plexus::Mode::train); }},
        {Key::batchnorm_forward_infer, [](Device& d) { run_batchnorm(d, plexus::Mode::infer); }},
        {Key::softmax_cross_entropy_backward, run_softmax_cross_entropy},
        {Key::adam_update, [](Device& d) { run_optimizer(d, "adam"); }},
        {Key::sgd_momentum_update, [](Device& d) { run_optimizer(d, "sgd momentum=0.9"); }},
        {Key::conv2d_forward, [](Device& d) { run_conv2d(d); }},
        {Key::conv2d_backward, [](Device& d) { run_conv2d(d); }},
        {Key::lstm_cell_forward, [](Device& d) { run_recurrent(d, "lstm units=5"); }},
        {Key::lstm_cell_backward, [](Device& d) { run_recurrent(d, "lstm units=5"); }},
        {Key::gru_cell_forward, [](Device& d) { run_recurrent(d, "gru units=5"); }},
        {Key::gru_cell_backward, [](Device& d) { run_recurrent(d, "gru units=5"); }},
    };
    return map;
}

void check_claimed_keys_run(Device& d) {
    BOOST_TEST_MESSAGE(d.name() << " lists " << [&] {
        std::string keys;
        for (Key k : plexus::fused::kAllKeys)
            if (d.fused_keys().contains(k))
                keys += std::string(" ") + std::string(plexus::fused::key_name(k));
        return keys;
    }());
    for (Key key : plexus::fused::kAllKeys) {
        if (!d.fused_keys().contains(key)) continue;
        BOOST_TEST_CONTEXT(d.name() << ": " << plexus::fused::key_name(key)) {
            const auto index = static_cast<std::size_t>(key);
            const auto before = d.counters().fused_runs[index];
            components().at(key)(d);
            BOOST_TEST(d.counters().fused_runs[index] > before);
        }
    }
}

// With fused=false the same components run none.
void check_fused_false_runs_none(Device& d) {
    d.reset_counters();
    auto layer = load<plexus::Layer>("batchnorm fused=false", {PLEXUS_TEST_PLUGIN_DIR});
    layer->build({6, 5}, d, {});
    const Tensor x = uniform(d, {6, 5}, 1), y = d.alloc({6, 5});
    layer->forward(x, y, plexus::Mode::train);
    layer->backward(x, y, x, nullptr);
    run_optimizer(d, "adam fused=false");
    run_conv2d(d, "conv2d filters=4 kernel=3 padding=same fused=false");
    run_recurrent(d, "lstm units=5 fused=false");
    run_recurrent(d, "gru units=5 fused=false bidirectional=true");
    for (Key key : plexus::fused::kAllKeys)
        BOOST_TEST(d.counters().fused_runs[static_cast<std::size_t>(key)] == 0u);
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_key_has_a_component) {
    for (Key key : plexus::fused::kAllKeys)
        BOOST_TEST(components().count(key) == 1u,
                   "no component runs " << plexus::fused::key_name(key));
}

BOOST_AUTO_TEST_CASE(cpu_runs_every_key_it_lists) {
    auto cpu = load<Device>("cpu", {PLEXUS_TEST_PLUGIN_DIR});
    BOOST_TEST(!cpu->fused_keys().empty());
    check_claimed_keys_run(*cpu);
    check_fused_false_runs_none(*cpu);
}

BOOST_AUTO_TEST_CASE(opencl_runs_every_key_it_lists) {
    std::shared_ptr<Device> opencl;
    try {
        opencl = load<Device>("opencl", {PLEXUS_TEST_PLUGIN_DIR});
    } catch (const std::exception& e) {
        BOOST_TEST_MESSAGE("skipped, no OpenCL device here: " << e.what());
        return;
    }
    BOOST_TEST(!opencl->fused_keys().empty());
    check_claimed_keys_run(*opencl);
    check_fused_false_runs_none(*opencl);
}

namespace {

// A device with no kernels at all that lists the keys it is given.
class Listing final : public plexus::Device {
public:
    explicit Listing(plexus::fused::KeySet keys) : keys_(keys) {}
    std::string name() const override { return "listing"; }
    std::string description() const override { return "listing"; }
    plexus::fused::KeySet fused_keys() const override { return keys_; }
    void gemm(plexus::Transpose, plexus::Transpose, float, const Tensor&, const Tensor&, float,
              const Tensor&) override {}
    void fill(const Tensor&, float) override {}
    void copy(const Tensor&, const Tensor&) override {}
    void unary(plexus::UnaryOp, const Tensor&, const Tensor&, float) override {}
    void binary(plexus::BinaryOp, const Tensor&, const Tensor&, const Tensor&, float) override {}
    void axpby(float, const Tensor&, float, const Tensor&) override {}
    void reduce(plexus::ReduceOp, const Tensor&, plexus::Axis, const Tensor&) override {}
    void softmax(const Tensor&, const Tensor&, bool) override {}
    void softmax_backward(const Tensor&, const Tensor&, const Tensor&) override {}
    void random(plexus::Distribution, std::uint64_t, std::uint64_t, const Tensor&, float,
                float) override {}

protected:
    void* allocate(std::size_t bytes) override { return std::malloc(bytes); }
    void deallocate(void* h) noexcept override { std::free(h); }
    void write(void*, std::size_t, const void*, std::size_t) override {}
    void read(const void*, std::size_t, void*, std::size_t) override {}
    void run_im2col(const Tensor&, const Tensor&, const plexus::Window2d&) override {}
    void run_col2im(const Tensor&, const Tensor&, const plexus::Window2d&) override {}
    void run_pool2d(plexus::PoolOp, const Tensor&, const Tensor&, const Tensor&,
                    const plexus::Window2d&) override {}
    void run_pool2d_backward(plexus::PoolOp, const Tensor&, const Tensor&, const Tensor&,
                             const plexus::Window2d&) override {}
    void run_transpose(const Tensor&, const Tensor&, std::size_t, std::size_t, std::size_t,
                       std::size_t) override {}

private:
    plexus::fused::KeySet keys_;
};

bool sgd_step(Device& d) {
    const Tensor g = d.alloc({3}), w = d.alloc({3}), b = d.alloc({3});
    return d.try_fused(plexus::fused::SgdMomentumUpdate{.grad = g,
                                                        .value = w,
                                                        .velocity = b,
                                                        .lr = 0.1f,
                                                        .momentum = 0.9f,
                                                        .weight_decay = 0.0f,
                                                        .nesterov = false,
                                                        .grad_scale = 1.0f,
                                                        .clipvalue = 0.0f});
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_key_not_listed_is_declined_and_not_counted) {
    Listing bare({});
    BOOST_TEST(!sgd_step(bare));
    BOOST_TEST(bare.counters().fused_runs[static_cast<std::size_t>(Key::sgd_momentum_update)] ==
               0u);
}

BOOST_AUTO_TEST_CASE(a_key_listed_but_not_implemented_names_itself) {
    Listing liar({Key::adam_update, Key::sgd_momentum_update});
    BOOST_CHECK_EXCEPTION(sgd_step(liar), plexus::DeviceError, [](const plexus::DeviceError& e) {
        return std::string(e.what()).find("listing: lists the fused key 'sgd.momentum_update'") !=
               std::string::npos;
    });
}

// ---- the operand check the Device base class runs before every device's run_fused

namespace {

bool names(const plexus::DeviceError& e, const std::string& part) {
    const bool found = std::string(e.what()).find(part) != std::string::npos;
    if (!found) BOOST_TEST_MESSAGE("message: " << e.what());
    return found;
}

// Each key given one bad operand (a wrong size, one row for a training batch, a tensor of
// another device, an empty tensor) must throw DeviceError naming the key and the operand,
// before the device runs anything: `d` may be a device whose run_fused would throw
// something else (Listing), or real kernels that would read out of bounds.
void check_bad_operands_are_refused(Device& d, Device& other) {
    const std::size_t n = 4, f = 3;
    const Tensor x = d.alloc({n, f}), y = d.alloc({n, f}), xhat = d.alloc({n, f}),
                 col = d.alloc({f}), col2 = d.alloc({f}), col3 = d.alloc({f}),
                 col4 = d.alloc({f}), short_col = d.alloc({f - 1}), wide = d.alloc({n, f + 1}),
                 one_row = d.alloc({1, f}), one_row_y = d.alloc({1, f}),
                 foreign = other.alloc({n, f});
    const Tensor p = d.alloc({7}), q = d.alloc({7}), r = d.alloc({7}), s = d.alloc({7}),
                 p8 = d.alloc({8}), empty;
    namespace fused = plexus::fused;
    const auto train = [&](const Tensor& in, const Tensor& out, const Tensor* gamma) {
        return d.try_fused(fused::BatchNormForwardTrain{.x = in,
                                                        .gamma = gamma,
                                                        .y = out,
                                                        .xhat = out,
                                                        .mean = col,
                                                        .invstd = col2,
                                                        .moving_mean = col3,
                                                        .moving_variance = col4,
                                                        .epsilon = 1e-3f,
                                                        .momentum = 0.9f});
    };
    const auto adam = [&](const Tensor& m, const Tensor* v_max) {
        return d.try_fused(fused::AdamUpdate{.grad = p, .value = q, .m = m, .v = s,
                                             .v_max = v_max, .lr = 0.1f, .beta1 = 0.9f,
                                             .beta2 = 0.999f, .epsilon = 1e-7f,
                                             .bias_correction1 = 0.1f,
                                             .bias_correction2 = 0.001f, .weight_decay = 0.0f,
                                             .grad_scale = 1.0f, .clipvalue = 0.0f});
    };
    const auto sgd = [&](const Tensor& grad, const Tensor& velocity) {
        return d.try_fused(fused::SgdMomentumUpdate{.grad = grad, .value = q,
                                                    .velocity = velocity, .lr = 0.1f,
                                                    .momentum = 0.9f, .weight_decay = 0.0f,
                                                    .nesterov = false, .grad_scale = 1.0f,
                                                    .clipvalue = 0.0f});
    };
    const std::vector<std::pair<std::function<void()>, std::string>> bad = {
        {[&] { train(x, y, &short_col); },
         "batchnorm.forward_train: 'gamma' has shape [2] (2 elements) but 3"},
        {[&] { train(one_row, one_row_y, nullptr); }, "a training batch needs at least 2 rows"},
        {[&] {
             d.try_fused(fused::BatchNormForwardInfer{
                 .x = x, .moving_mean = col, .moving_variance = col2, .y = wide, .epsilon = 1.0f});
         },
         "batchnorm.forward_infer: 'y' has shape [4, 4]"},
        {[&] {
             d.try_fused(fused::BatchNormBackward{.dy = x, .xhat = xhat, .invstd = col,
                                                  .dx = &wide, .dgamma = col2, .dbeta = col3});
         },
         "batchnorm.backward: 'dx' has shape [4, 4]"},
        {[&] {
             d.try_fused(fused::SoftmaxCrossEntropyBackward{
                 .pred = x, .target = wide, .dpred = y, .scale = 1.0f});
         },
         "softmax_cross_entropy.backward: 'target' has shape [4, 4]"},
        {[&] {
             d.try_fused(fused::SoftmaxCrossEntropyBackward{
                 .pred = x, .target = foreign, .dpred = y, .scale = 1.0f});
         },
         "softmax_cross_entropy.backward: tensor 'target' is empty or lives on another device"},
        {[&] { adam(r, &p8); }, "adam.update: 'v_max' has shape [8]"},
        {[&] { adam(foreign, nullptr); }, "adam.update: tensor 'm' is empty or lives on another"},
        {[&] { sgd(p, p8); }, "sgd.momentum_update: 'velocity' has shape [8]"},
        {[&] { sgd(empty, r); }, "sgd.momentum_update: tensor 'grad' is empty"},
    };
    for (const auto& [call, message] : bad) {
        BOOST_TEST_CONTEXT(d.name() << ", expecting: " << message) {
            BOOST_CHECK_EXCEPTION(call(), plexus::DeviceError,
                                  [&](const plexus::DeviceError& e) { return names(e, message); });
        }
    }
    for (Key key : plexus::fused::kAllKeys)
        BOOST_TEST(d.counters().fused_runs[static_cast<std::size_t>(key)] == 0u,
                   plexus::fused::key_name(key) << " counted a run that was refused");
}

}  // namespace

BOOST_AUTO_TEST_CASE(bad_operands_are_refused_before_any_device_runs_them) {
    plexus::fused::KeySet all;
    for (Key key : plexus::fused::kAllKeys) all.insert(key);
    Listing other({});
    // A device with no checks of its own, as an out-of-tree one may be.
    Listing listing(all);
    check_bad_operands_are_refused(listing, other);
    auto cpu = load<Device>("cpu", {PLEXUS_TEST_PLUGIN_DIR});
    check_bad_operands_are_refused(*cpu, other);
    std::shared_ptr<Device> opencl;
    try {
        opencl = load<Device>("opencl", {PLEXUS_TEST_PLUGIN_DIR});
    } catch (const std::exception& e) {
        BOOST_TEST_MESSAGE("opencl skipped, no OpenCL device here: " << e.what());
        return;
    }
    check_bad_operands_are_refused(*opencl, other);
}
