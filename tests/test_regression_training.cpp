// Float targets through the trainer: the target transform (fitted values by hand), targets
// scaled for the loss and inverted for metrics and predictions, relative bases added back,
// the autoencoder's target = input, and the checks that a loss suits its targets.
#define BOOST_TEST_MODULE regression_training
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <random>

#include "plexus/core/registry/registry.hpp"
#include "plexus/core/training/trainer.hpp"
#include "plexus/plexus.hpp"

using namespace plexus;
using plexus::core::Registry;

namespace {

// y = 300 + 20 (2 x0 - x1) + noise: a linear target far from 0 with a large spread, so an
// unscaled target would train badly and an uninverted metric would be off by orders.
core::Dataset make_linear(std::size_t count, std::uint64_t seed) {
    core::Dataset d;
    d.sample_shape = Shape{3};
    d.count = count;
    d.target_width = 1;
    d.target_names = {"y"};
    std::mt19937 rng(static_cast<std::uint32_t>(seed));
    std::normal_distribution<float> x(0.0f, 1.0f), noise(0.0f, 0.05f);
    for (std::size_t i = 0; i < count; ++i) {
        const float a = x(rng), b = x(rng), c = x(rng);
        d.f32.insert(d.f32.end(), {a, b, c});
        d.targets.push_back(300.0f + 20.0f * (2.0f * a - b) + noise(rng));
    }
    return d;
}

core::Subset all_of(const core::Dataset& d) {
    core::Subset s{&d, {}};
    for (std::uint32_t i = 0; i < d.count; ++i) s.indices.push_back(i);
    return s;
}

double mean_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double sum = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) sum += std::abs(double(a[i]) - b[i]);
    return a.empty() ? 0.0 : sum / double(a.size());
}

struct Fixture {
    Registry registry;
    std::shared_ptr<Device> device = registry.create_as<Device>("cpu");
    core::Sequential model;
    std::shared_ptr<Loss> mse = registry.create_as<Loss>("mse");
    std::shared_ptr<Optimizer> adam = registry.create_as<Optimizer>("adam lr=0.05");
    core::TrainOptions options() const {
        core::TrainOptions o;
        o.batch_size = 32;
        o.epochs = 30;
        o.prefetch = false;
        return o;
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(standardize_and_scale_fit_the_training_rows_only) {
    core::Dataset d;
    d.count = 4;
    d.target_width = 2;
    d.targets = {1, 10, 3, 10, 5, 10, 1000, -7};  // row 3 is not in the training rows
    auto s = core::TargetScaler::parse("standardize", "x");
    s.fit(d, {0, 1, 2});
    // Column 0: mean 3, population sd sqrt(8/3); column 1 is constant: scale 1.
    BOOST_TEST(s.offset()[0] == 3.0f);
    BOOST_TEST(s.scale()[0] == std::sqrt(8.0f / 3.0f), boost::test_tools::tolerance(1e-6f));
    BOOST_TEST(s.offset()[1] == 10.0f);
    BOOST_TEST(s.scale()[1] == 1.0f);
    auto m = core::TargetScaler::parse("scale", "x");
    m.fit(d, {0, 1, 2});
    BOOST_TEST(m.offset()[0] == 1.0f);
    BOOST_TEST(m.scale()[0] == 4.0f);
    float row[2] = {5.0f, 12.0f};
    m.apply(row, row, 1);
    BOOST_TEST(row[0] == 1.0f);
    BOOST_TEST(row[1] == 2.0f);
    m.invert(row, 1);
    BOOST_TEST(row[0] == 5.0f);
    BOOST_TEST(row[1] == 12.0f);
    BOOST_CHECK_THROW(core::TargetScaler::parse("minmax", "x"), ConfigError);
}

BOOST_AUTO_TEST_CASE(scaler_state_round_trips_and_damage_is_refused) {
    core::Dataset d;
    d.count = 2;
    d.target_width = 1;
    d.targets = {2, 6};
    auto s = core::TargetScaler::parse("standardize", "x");
    s.fit(d, {0, 1});
    auto state = s.state();
    core::TargetScaler back;
    back.load_state("standardize", state, 1, "m.safetensors");
    BOOST_TEST(back.offset() == s.offset());
    BOOST_TEST(back.scale() == s.scale());
    BOOST_CHECK_THROW(back.load_state("standardize", state, 2, "m"), DataError);  // width
    state[1].values[0] = 0.0f;                                                    // zero scale
    BOOST_CHECK_THROW(back.load_state("standardize", state, 1, "m"), DataError);
    BOOST_CHECK_THROW(back.load_state("standardize", {}, 1, "m"), DataError);  // missing
}

BOOST_FIXTURE_TEST_CASE(a_standardized_target_trains_and_predictions_come_back_in_units, Fixture) {
    model.add(registry.create_as<Layer>("dense units=1"), "dense");
    const auto train = make_linear(512, 1), test = make_linear(128, 2);
    core::TrainTargets targets;
    targets.source = core::TargetSource::values;
    targets.width = 1;
    targets.scaler = core::TargetScaler::parse("standardize", "x");
    targets.scaler.fit(train, all_of(train).indices);
    core::Trainer trainer(*device, model, *mse, *adam, {}, {}, options());
    trainer.build(3, targets);
    const auto history = trainer.fit(all_of(train), {});
    std::vector<float> truth, predicted;
    trainer.predict_values(all_of(test), truth, predicted);
    // Scaled on the way in, inverted on the way out: equal up to float rounding.
    BOOST_REQUIRE(truth.size() == test.count);
    for (std::size_t i = 0; i < test.count; ++i)
        BOOST_TEST(truth[i] == test.targets[i], boost::test_tools::tolerance(1e-6f));
    // The noise is 0.05; in standardized units the whole spread (sd ~45) is 1: an error of
    // 0.5 in units is 1 % of it. Unscaled, mse on targets near 300 would still be far off.
    BOOST_TEST(mean_abs_diff(truth, predicted) < 0.5);
    // The loss is reported on the scaled targets the model learns.
    BOOST_TEST(history.rows.back()[1] < 1e-3);
}

BOOST_FIXTURE_TEST_CASE(relative_bases_are_added_back_to_truth_and_predictions, Fixture) {
    model.add(registry.create_as<Layer>("dense units=1"), "dense");
    auto train = make_linear(256, 3);
    // Relative windows: targets are changes from a base; the truth in units is base + change.
    for (std::size_t i = 0; i < train.count; ++i) train.target_base.push_back(1000.0f + float(i));
    core::TrainTargets targets;
    targets.source = core::TargetSource::values;
    targets.width = 1;
    targets.base = true;
    core::Trainer trainer(*device, model, *mse, *adam, {}, {}, options());
    trainer.build(3, targets);
    std::vector<float> truth, predicted;
    trainer.predict_values(all_of(train), truth, predicted);
    for (std::size_t i = 0; i < train.count; i += 37)
        BOOST_TEST(truth[i] == train.targets[i] + train.target_base[i],
                   boost::test_tools::tolerance(1e-4f));
}

BOOST_FIXTURE_TEST_CASE(target_input_trains_an_autoencoder_on_the_prepared_input, Fixture) {
    model.add(registry.create_as<Layer>("dense units=3"), "dense");
    const auto train = make_linear(256, 4);
    core::TrainTargets targets;
    targets.source = core::TargetSource::input;
    core::Trainer trainer(*device, model, *mse, *adam, {}, {}, options());
    trainer.build(3, targets);
    const auto history = trainer.fit(all_of(train), {});
    // A linear 3 -> 3 map can copy its input exactly.
    BOOST_TEST(history.rows.back()[1] < 1e-3);
    std::vector<float> truth, predicted;
    trainer.predict_values(all_of(train), truth, predicted);
    BOOST_TEST(std::vector<float>(truth.begin(), truth.begin() + 6) ==
                   std::vector<float>(train.f32.begin(), train.f32.begin() + 6),
               boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(a_loss_for_classes_is_refused_on_float_targets_and_back, Fixture) {
    model.add(registry.create_as<Layer>("dense units=1"), "dense");
    auto xent = registry.create_as<Loss>("softmax_cross_entropy");
    core::TrainTargets values;
    values.source = core::TargetSource::values;
    values.width = 1;
    core::Trainer a(*device, model, *xent, *adam, {}, {}, options());
    BOOST_CHECK_THROW(a.build(3, values), ShapeError);
    core::Trainer b(*device, model, *mse, *adam, {}, {}, options());
    BOOST_CHECK_THROW(b.build(3, 2), ShapeError);  // mse on class ids
    core::TrainTargets wide = values;
    wide.width = 2;  // the model gives 1 value
    core::Trainer c(*device, model, *mse, *adam, {}, {}, options());
    BOOST_CHECK_THROW(c.build(3, wide), ShapeError);
}
