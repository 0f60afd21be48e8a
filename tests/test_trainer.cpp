// The training loop on synthetic data, through the real plugins: a step allocates nothing
// after the first batch, only the batch goes up and only scalars come back.
#define BOOST_TEST_MODULE trainer
#include <boost/test/unit_test.hpp>
#include <initializer_list>
#include <random>

#include "each_device.hpp"
#include "plexus/core/registry/registry.hpp"
#include "plexus/core/training/trainer.hpp"
#include "plexus/plexus.hpp"

using namespace plexus;
using plexus::core::Registry;

namespace {

// Two well-separated classes of 8 features, as uint8 pixels.
core::Dataset make_blobs(std::size_t count, std::uint64_t seed) {
    core::Dataset d;
    d.sample_shape = Shape{8};
    d.count = count;
    d.classes = 2;
    std::mt19937 rng(static_cast<std::uint32_t>(seed));
    std::normal_distribution<float> noise(0.0f, 20.0f);
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint32_t label = i % 2;
        d.labels.push_back(label);
        for (int j = 0; j < 8; ++j) {
            const float centre = (label == 0) == (j % 2 == 0) ? 190.0f : 60.0f;
            d.u8.push_back(static_cast<std::uint8_t>(std::clamp(centre + noise(rng), 0.0f, 255.0f)));
        }
    }
    return d;
}

core::Subset all_of(const core::Dataset& d) {
    core::Subset s{&d, {}};
    for (std::uint32_t i = 0; i < d.count; ++i) s.indices.push_back(i);
    return s;
}

// Appends one layer per spec line to `model`, each named by its plugin.
void add_layers(core::Sequential& model, Registry& registry,
                std::initializer_list<const char*> specs) {
    for (const char* spec : specs)
        model.add(registry.create_as<Layer>(spec), core::parse_component_spec(spec).name);
}

struct CounterProbe : Callback {
    Device* device = nullptr;
    std::vector<DeviceCounters> at_batch_end;
    void on_batch_end(TrainState&) override { at_batch_end.push_back(device->counters()); }
};

struct Fixture {
    Registry registry;
    std::shared_ptr<Device> device = registry.create_as<Device>("cpu");
    core::Sequential model;
    std::shared_ptr<Loss> loss = registry.create_as<Loss>("softmax_cross_entropy");
    std::shared_ptr<Optimizer> sgd = registry.create_as<Optimizer>("sgd lr=0.1");
    std::shared_ptr<Metric> accuracy = registry.create_as<Metric>("accuracy");
    Fixture() {
        model.add(registry.create_as<Layer>("dense units=16 init=he_normal"), "dense");
        model.add(registry.create_as<Layer>("relu"), "relu");
        model.add(registry.create_as<Layer>("dense units=2"), "dense");
    }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(step_allocates_nothing_and_moves_only_batches_and_scalars, Fixture) {
    auto probe = std::make_shared<CounterProbe>();
    probe->device = device.get();
    core::TrainOptions opt;
    opt.batch_size = 32;
    opt.epochs = 2;
    core::Trainer trainer(*device, model, *loss, *sgd, {accuracy}, {probe}, opt);
    trainer.build(8, 2);
    const auto train = make_blobs(200, 1), val = make_blobs(50, 2);  // 200 = 6 full + 1 partial
    const auto history = trainer.fit(all_of(train), all_of(val));

    BOOST_REQUIRE_EQUAL(probe->at_batch_end.size(), 14u);
    const auto& first = probe->at_batch_end.front();
    const auto& last = probe->at_batch_end.back();
    BOOST_TEST(last.allocations == first.allocations);  // incl. partial batches and validation
    const auto& b1 = probe->at_batch_end[1];
    const auto& b2 = probe->at_batch_end[2];
    BOOST_TEST(b2.h2d_bytes - b1.h2d_bytes == 32u * (8 + 2) * sizeof(float));
    BOOST_TEST(b2.d2h_bytes - b1.d2h_bytes == sizeof(float));  // the loss; accuracy counts on the device
    BOOST_TEST(history.rows.size() == 2u);
}

// The same on every device plugin the build has (cpu; opencl where a platform exists), with
// batchnorm, dropout and Adam so the fused kernels and random draws take part: after the
// first batches, a step uploads only its batch and downloads only its loss.
BOOST_AUTO_TEST_CASE(every_device_moves_only_the_batch_and_the_loss_per_step) {
    Registry registry;
    const std::size_t checked = plexus::test::for_each_device(registry, [&](const std::string&,
                                                                            Device& device) {
        core::Sequential model;
        add_layers(model, registry,
                   {"dense units=16 use_bias=false", "batchnorm", "relu", "dropout rate=0.1",
                    "dense units=2"});
        auto loss = registry.create_as<Loss>("softmax_cross_entropy");
        auto adam = registry.create_as<Optimizer>("adam");
        auto accuracy = registry.create_as<Metric>("accuracy");
        auto probe = std::make_shared<CounterProbe>();
        probe->device = &device;
        core::TrainOptions opt;
        opt.batch_size = 20;
        opt.epochs = 1;
        {
            core::Trainer trainer(device, model, *loss, *adam, {accuracy}, {probe}, opt);
            trainer.build(8, 2);
            trainer.fit(all_of(make_blobs(100, 6)), core::Subset{});
        }
        BOOST_TEST_REQUIRE(probe->at_batch_end.size() == 5u);
        for (std::size_t i = 2; i < probe->at_batch_end.size(); ++i) {
            const auto& before = probe->at_batch_end[i - 1];
            const auto& after = probe->at_batch_end[i];
            BOOST_TEST(after.allocations == before.allocations);
            BOOST_TEST(after.h2d_bytes - before.h2d_bytes == 20u * (8 + 2) * sizeof(float));
            BOOST_TEST(after.d2h_bytes - before.d2h_bytes == sizeof(float));  // the loss
        }
    });
    BOOST_TEST(checked >= 1u);  // the cpu device at least
}

namespace {
// Two classes of 6x6 uint8 images: a bright vertical or horizontal bar on noise.
core::Dataset make_bars(std::size_t count, std::uint64_t seed) {
    core::Dataset d;
    d.sample_shape = Shape{6, 6};
    d.count = count;
    d.classes = 2;
    std::mt19937 rng(static_cast<std::uint32_t>(seed));
    std::uniform_int_distribution<int> noise(0, 60);
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint32_t label = i % 2;
        d.labels.push_back(label);
        for (int r = 0; r < 6; ++r)
            for (int c = 0; c < 6; ++c) {
                const bool bar = label == 0 ? (c == 2 || c == 3) : (r == 2 || r == 3);
                d.u8.push_back(static_cast<std::uint8_t>(bar ? 200 + noise(rng) : noise(rng)));
            }
    }
    return d;
}
}  // namespace

// A CNN on every device plugin the build has: convolution (same padding, stride 1 and 2),
// batchnorm on images, spatial dropout, max and average pooling, flatten and dense. After the
// first batches a step allocates nothing, uploads only its batch and downloads only its loss;
// and the model learns the bars.
BOOST_AUTO_TEST_CASE(cnn_step_allocates_nothing_on_every_device) {
    Registry registry;
    const std::size_t checked = plexus::test::for_each_device(registry, [&](const std::string&,
                                                                            Device& device) {
        core::Sequential model;
        add_layers(model, registry,
                   {"conv2d filters=4 kernel=3 padding=same init=he_normal",
                    "batchnorm momentum=0.5",  // running statistics that settle in 18 steps
                    "relu",
                    "dropout rate=0.1 spatial=true", "max_pool2d size=2",
                    "conv2d filters=6 kernel=2 stride=1 use_bias=false", "avg_pool2d size=2",
                    "flatten", "dense units=2"});
        auto loss = registry.create_as<Loss>("softmax_cross_entropy");
        auto adam = registry.create_as<Optimizer>("adam lr=0.01");
        auto accuracy = registry.create_as<Metric>("accuracy");
        auto probe = std::make_shared<CounterProbe>();
        probe->device = &device;
        core::TrainOptions opt;
        opt.batch_size = 20;
        opt.epochs = 3;
        core::Pipeline pipeline;
        pipeline.build(Shape{6, 6}, opt.batch_size, 255.0f, 0);
        const auto train = make_bars(110, 8), val = make_bars(40, 9);  // 110 = 5 full + 1 partial
        core::History history;
        {
            core::Trainer trainer(device, model, *loss, *adam, {accuracy}, {probe}, pipeline, opt);
            trainer.build(2);
            history = trainer.fit(all_of(train), all_of(val));
        }
        BOOST_TEST_REQUIRE(probe->at_batch_end.size() == 18u);
        for (std::size_t i = 2; i < probe->at_batch_end.size(); ++i) {
            const auto& before = probe->at_batch_end[i - 1];
            const auto& after = probe->at_batch_end[i];
            BOOST_TEST(after.allocations == before.allocations);  // incl. the partial batch
            if (i % 6 != 0 && i % 6 != 5) {  // two full batches (not an epoch's first or last)
                BOOST_TEST(after.h2d_bytes - before.h2d_bytes == 20u * (36 + 2) * sizeof(float));
                BOOST_TEST(after.d2h_bytes - before.d2h_bytes == sizeof(float));  // the loss
            }
        }
        BOOST_TEST(history.rows.back()[4] > 0.9);  // val_accuracy: bars are easy
    });
    BOOST_TEST(checked >= 1u);
}

BOOST_FIXTURE_TEST_CASE(learns_separable_data_and_logs_history, Fixture) {
    core::TrainOptions opt;
    opt.batch_size = 16;
    opt.epochs = 5;
    core::Trainer trainer(*device, model, *loss, *sgd, {accuracy}, {}, opt);
    trainer.build(8, 2);
    const auto train = make_blobs(400, 3), val = make_blobs(100, 4);
    const auto history = trainer.fit(all_of(train), all_of(val));
    const std::vector<std::string> expected{"epoch", "loss", "accuracy", "val_loss",
                                            "val_accuracy", "lr", "seconds"};
    BOOST_TEST(history.columns == expected, boost::test_tools::per_element());
    BOOST_REQUIRE_EQUAL(history.rows.size(), 5u);
    BOOST_TEST(history.rows.back()[1] < history.rows.front()[1]);  // loss falls
    BOOST_TEST(history.rows.back()[4] > 0.95);                     // val_accuracy
    const auto test = trainer.evaluate(all_of(make_blobs(100, 5)));
    BOOST_TEST(test.get("accuracy").value() > 0.95);
}

BOOST_FIXTURE_TEST_CASE(output_width_must_match_classes, Fixture) {
    core::Trainer trainer(*device, model, *loss, *sgd, {accuracy}, {}, core::TrainOptions{});
    try {
        trainer.build(8, 3);
        BOOST_FAIL("expected ShapeError");
    } catch (const ShapeError& e) {
        BOOST_TEST(std::string(e.what()).find("3 classes") != std::string::npos);
        BOOST_TEST(std::string(e.what()).find("dense units=3") != std::string::npos);
    }
}

namespace {
// Stands in for a layer with input requirements, e.g. a convolution wanting [N, C, H, W].
struct WantsImages : Layer {
    Shape build(const Shape& input, Device&, const BuildContext&) override {
        if (input.rank() != 4) throw ShapeError("expects [*, C, H, W] images");
        return input;
    }
    void forward(const Tensor&, const Tensor&, Mode) override {}
    void backward(const Tensor&, const Tensor&, const Tensor&, const Tensor*) override {}
};
}  // namespace

BOOST_FIXTURE_TEST_CASE(shape_mismatch_names_layer_index_and_shapes, Fixture) {
    core::Sequential bad;
    bad.add(registry.create_as<Layer>("dense units=4"), "dense");
    bad.add(std::make_shared<WantsImages>(), "conv2d");
    try {
        bad.build(Shape{32, 8}, *device, 1);
        BOOST_FAIL("expected ShapeError");
    } catch (const ShapeError& e) {
        BOOST_TEST(std::string(e.what()) == "layer 1 (conv2d): input [*, 4]: expects [*, C, H, W] images");
    }
}

// The real layers' messages through the model: index, name, input shape, the layer's reason
// once (its own "dropout: " prefix dropped) with the full shape the layer saw.
BOOST_FIXTURE_TEST_CASE(layer_shape_errors_name_the_layer_its_input_and_its_reason, Fixture) {
    const auto expect_error = [&](core::Sequential& bad, const Shape& input,
                                  const std::string& message) {
        try {
            bad.build(input, *device, 1);
            BOOST_FAIL("expected ShapeError");
        } catch (const ShapeError& e) {
            BOOST_TEST(e.what() == message);
        }
    };
    core::Sequential spatial;
    spatial.add(registry.create_as<Layer>("dense units=16"), "dense");
    spatial.add(registry.create_as<Layer>("relu"), "relu");
    spatial.add(registry.create_as<Layer>("dropout spatial=true"), "dropout");
    expect_error(spatial, Shape{32, 8},
                 "layer 2 (dropout): input [*, 16]: spatial=true drops whole channels of images "
                 "[batch, C, H, W] (rank >= 3), got [32, 16]; use spatial=false for features");
    core::Sequential scalar;
    scalar.add(registry.create_as<Layer>("batchnorm"), "batchnorm");
    expect_error(scalar, Shape{32},
                 "layer 0 (batchnorm): input [*]: expected input [batch, features...], got [32]");
    // The example: a 5x5 kernel on the 3x3 map two valid 3x3 convolutions leave.
    core::Sequential shrinking;
    add_layers(shrinking, registry,
               {"conv2d filters=8 kernel=3", "relu", "conv2d filters=8 kernel=3",
                "conv2d filters=2 kernel=5"});
    expect_error(shrinking, Shape{16, 1, 7, 7},
                 "layer 3 (conv2d): input [*, 8, 3, 3]: a 5x5 kernel (valid padding) does not "
                 "fit a 3x3 input [8, 3, 3]; use a smaller kernel or dilation, or padding=same");
}

// A partial last batch runs through row views of buffers built for the full batch; its
// gradients must equal those of a model built for exactly that many rows.
BOOST_AUTO_TEST_CASE(partial_batch_gradients_match_an_exact_build) {
    Registry registry;
    auto device = registry.create_as<Device>("cpu");
    auto grads_for = [&](std::size_t built_rows, std::size_t rows) {
        core::Sequential model;
        model.add(registry.create_as<Layer>("dense units=6 init=he_normal"), "dense");
        model.add(registry.create_as<Layer>("relu"), "relu");
        model.add(registry.create_as<Layer>("dense units=3"), "dense");
        auto loss = registry.create_as<Loss>("softmax_cross_entropy");
        const Shape out = model.build(Shape{built_rows, 5}, *device, 7);
        loss->build(out, *device);
        // Fill the full-size buffers with a different batch first, so stale rows would show.
        std::vector<float> x(built_rows * 5), t(built_rows * 3, 0.0f);
        for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.7f * float(i)) * (i < rows * 5 ? 1.0f : 9.0f);
        for (std::size_t r = 0; r < built_rows; ++r) t[r * 3 + r % 3] = 1.0f;
        auto run = [&](std::size_t n) {
            Tensor xt = device->alloc(Shape{n, 5}), tt = device->alloc(Shape{n, 3});
            device->upload(xt, std::span<const float>(x.data(), n * 5));
            device->upload(tt, std::span<const float>(t.data(), n * 3));
            const Tensor& y = model.forward(xt, Mode::train);
            const float l = loss->forward(y, tt);
            const Tensor dy = model.output_grad(n);
            loss->backward(y, tt, dy);
            model.backward(xt, dy);
            return l;
        };
        run(built_rows);
        const float l = run(rows);
        std::vector<float> all{l};
        for (Parameter* p : model.parameters()) {
            std::vector<float> g(p->grad.numel());
            device->download(p->grad, g);
            all.insert(all.end(), g.begin(), g.end());
        }
        return all;
    };
    const auto partial = grads_for(32, 8);
    const auto exact = grads_for(8, 8);
    BOOST_REQUIRE_EQUAL(partial.size(), exact.size());
    for (std::size_t i = 0; i < exact.size(); ++i) BOOST_TEST(partial[i] == exact[i], boost::test_tools::tolerance(1e-5f));
}

namespace {

core::Dataset zeros_dataset(std::size_t count) {
    core::Dataset d;
    d.sample_shape = Shape{4};
    d.count = count;
    d.classes = 2;
    d.u8.assign(count * 4, 0);
    for (std::size_t i = 0; i < count; ++i) d.labels.push_back(static_cast<std::uint32_t>(i % 2));
    return d;
}

// Wraps the real loss and turns its value into NaN from the `bad_call`-th forward on.
struct PoisonedLoss : Loss {
    std::shared_ptr<Loss> inner;
    int calls = 0, bad_call = 0;
    void build(const Shape& pred, Device& device) override { inner->build(pred, device); }
    float forward(const Tensor& pred, const Tensor& target) override {
        const float v = inner->forward(pred, target);
        return ++calls >= bad_call ? std::nanf("") : v;
    }
    void backward(const Tensor& pred, const Tensor& target, const Tensor& dpred) override {
        inner->backward(pred, target, dpred);
    }
};

struct EpochSnapshots : Callback {
    std::vector<std::vector<float>> weights;
    void on_epoch_end(TrainState& s) override {
        weights.emplace_back();
        s.model->snapshot(weights.back());
    }
};

}  // namespace

// With zero inputs the data gradient of the kernel is xᵀ·dy = 0, so one SGD step leaves
// exactly the L2 term: w' = w − lr·2·l2·w, and the logged penalty is l2·Σw² before the step.
BOOST_AUTO_TEST_CASE(l2_penalty_enters_loss_and_gradient) {
    Registry registry;
    auto device = registry.create_as<Device>("cpu");
    core::Sequential model;
    model.add(registry.create_as<Layer>("dense units=2 init=he_normal l2=0.25"), "dense");
    auto loss = registry.create_as<Loss>("softmax_cross_entropy");
    auto sgd = registry.create_as<Optimizer>("sgd lr=0.1");
    core::TrainOptions opt;
    opt.batch_size = 8;
    opt.epochs = 1;
    core::Trainer trainer(*device, model, *loss, *sgd, {}, {}, opt);
    trainer.build(4, 2);
    std::vector<float> before, after;
    trainer.weights().snapshot(before);  // kernel (4x2) first, then bias (2)
    const auto data = zeros_dataset(8);
    const auto history = trainer.fit(all_of(data), core::Subset{});
    trainer.weights().snapshot(after);

    double sum_sq = 0.0;
    for (int i = 0; i < 8; ++i) {
        sum_sq += double(before[i]) * before[i];
        BOOST_TEST(after[i] == before[i] * (1.0f - 0.1f * 2.0f * 0.25f), boost::test_tools::tolerance(1e-5f));
    }
    BOOST_REQUIRE(history.columns[2] == "reg_loss");
    BOOST_TEST(history.rows[0][2] == 0.25 * sum_sq, boost::test_tools::tolerance(1e-4));
    // The reported loss is the data loss plus the penalty: ln 2 for a zero-input model
    // whose biases start equal.
    BOOST_TEST(history.rows[0][1] == std::log(2.0) + 0.25 * sum_sq, boost::test_tools::tolerance(1e-4));
}

BOOST_FIXTURE_TEST_CASE(nan_loss_stops_and_restores_the_best_epoch, Fixture) {
    auto poisoned = std::make_shared<PoisonedLoss>();
    poisoned->inner = loss;
    poisoned->bad_call = 2 * 7 + 3;  // 7 steps per epoch (no validation): the third step of epoch 3
    auto snaps = std::make_shared<EpochSnapshots>();
    core::TrainOptions opt;
    opt.batch_size = 32;
    opt.epochs = 5;
    core::Trainer trainer(*device, model, *poisoned, *sgd, {accuracy}, {snaps}, opt);
    trainer.build(8, 2);
    const auto history = trainer.fit(all_of(make_blobs(200, 1)), core::Subset{});
    BOOST_TEST(history.rows.size() == 2u);
    BOOST_TEST(trainer.stop_reason().find("loss became NaN at epoch 3 step 3") == 0u, trainer.stop_reason());
    const std::size_t best = history.rows[1][1] < history.rows[0][1] ? 2 : 1;
    BOOST_TEST(trainer.stop_reason().find("restored the weights of epoch " + std::to_string(best)) !=
               std::string::npos);
    std::vector<float> now;
    trainer.weights().snapshot(now);
    BOOST_TEST(now == snaps->weights[best - 1], boost::test_tools::per_element());
}

// Central differences of the penalty the trainer reports (reg_loss, with lr = 0 so nothing
// moves) against the gradient it applies (with lr = 1 and zero inputs, the kernel's whole
// gradient is the penalty's: g = w − w').
BOOST_AUTO_TEST_CASE(l1_l2_gradient_matches_finite_differences_of_the_reported_penalty) {
    Registry registry;
    auto device = registry.create_as<Device>("cpu");
    auto make = [&] {
        auto model = std::make_shared<core::Sequential>();
        model->add(registry.create_as<Layer>("dense units=2 init=he_normal l1=0.1 l2=0.25"), "dense");
        return model;
    };
    auto loss = registry.create_as<Loss>("softmax_cross_entropy");
    core::TrainOptions opt;
    opt.batch_size = 4;
    opt.epochs = 1;
    const auto data = zeros_dataset(4);

    auto model_a = make();
    auto frozen = registry.create_as<Optimizer>("sgd lr=1e-30");  // lr must be > 0
    core::Trainer probe(*device, *model_a, *loss, *frozen, {}, {}, opt);
    probe.build(4, 2);
    std::vector<float> w;
    probe.weights().snapshot(w);
    auto penalty_at = [&](const std::vector<float>& weights) {
        probe.weights().restore(weights);
        return probe.fit(all_of(data), core::Subset{}).rows[0][2];  // reg_loss
    };

    auto model_b = make();
    auto step = registry.create_as<Optimizer>("sgd lr=1");
    core::Trainer mover(*device, *model_b, *loss, *step, {}, {}, opt);
    mover.build(4, 2);
    mover.weights().restore(w);
    mover.fit(all_of(data), core::Subset{});
    std::vector<float> moved;
    mover.weights().snapshot(moved);

    const float eps = 1e-3f;
    for (std::size_t i = 0; i < 8; ++i) {  // the 4x2 kernel; the bias is not regularised
        auto plus = w, minus = w;
        plus[i] += eps;
        minus[i] -= eps;
        const double numeric = (penalty_at(plus) - penalty_at(minus)) / (2.0 * eps);
        const double analytic = w[i] - moved[i];
        BOOST_TEST(analytic == numeric, boost::test_tools::tolerance(1e-2));
    }
}

BOOST_FIXTURE_TEST_CASE(batch_of_one_and_full_batch, Fixture) {
    for (std::size_t batch : {std::size_t{1}, std::size_t{60}}) {
        core::TrainOptions opt;
        opt.batch_size = batch;
        opt.epochs = 1;
        core::Trainer trainer(*device, model, *loss, *sgd, {accuracy}, {}, opt);
        trainer.build(8, 2);
        const auto history = trainer.fit(all_of(make_blobs(60, 9)), core::Subset{});
        BOOST_TEST(history.rows.size() == 1u);
        BOOST_TEST(std::isfinite(history.rows[0][1]));
    }
}
