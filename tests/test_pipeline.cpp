// The data pipeline through the real transform plugins: scalers learn from the training split
// only, augmentation never touches validation or test data, fitted state survives a save,
// batches prepared on the background thread are the ones prepared inline, and splits are
// disjoint.
#define BOOST_TEST_MODULE pipeline
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <random>
#include <set>

#include "check_close.hpp"
#include "plexus/core/data/pipeline.hpp"
#include "plexus/core/data/run_data.hpp"
#include "plexus/core/data/splits.hpp"
#include "plexus/core/registry/registry.hpp"
#include "plexus/core/training/trainer.hpp"
#include "plexus/plexus.hpp"

using namespace plexus;
using plexus::core::Registry;

namespace {

const Registry& registry() {
    static Registry r;
    return r;
}

core::Pipeline make_pipeline(std::initializer_list<const char*> specs) {
    core::Pipeline p;
    for (const char* s : specs) p.add(registry().create_as<Transform>(s), s);
    return p;
}

// One feature: training rows 0, 2, 4 then test rows 100, 102 from a shifted distribution.
core::Dataset shifted_feature() {
    core::Dataset d;
    d.source = "shifted";
    d.sample_shape = Shape{1};
    d.count = 5;
    d.f32 = {0, 2, 4, 100, 102};
    d.labels = {0, 1, 0, 1, 0};
    d.classes = 2;
    return d;
}

// 4×4 one-channel uint8 images whose pixel (r, c) is 16·r + c + image.
core::Dataset ramps(std::size_t count) {
    core::Dataset d;
    d.source = "ramps";
    d.sample_shape = Shape{4, 4};
    d.count = count;
    d.classes = 2;
    for (std::size_t i = 0; i < count; ++i) {
        d.labels.push_back(static_cast<std::uint32_t>(i % 2));
        for (std::uint8_t r = 0; r < 4; ++r)
            for (std::uint8_t c = 0; c < 4; ++c) d.u8.push_back(static_cast<std::uint8_t>(16 * r + c + i));
    }
    return d;
}

std::vector<float> prepare(core::Pipeline& p, const core::Dataset& d, std::vector<std::uint32_t> ids,
                           Mode mode, std::uint64_t epoch = 0) {
    std::vector<float> out(ids.size() * p.output_features());
    p.prepare(d, ids.data(), ids.size(), mode, epoch, out.data());
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(scalers_learn_from_the_training_split_only) {
    const core::Dataset d = shifted_feature();
    core::Pipeline p = make_pipeline({"standardize"});
    p.build(d.sample_shape, 8, 1.0f, 1);
    p.fit(d, {0, 1, 2});
    // Training mean 2, population std sqrt(8/3); the test rows (100, 102) would move the mean
    // to 41.6 if they leaked into the fit.
    const double std = std::sqrt(8.0 / 3.0);
    const auto out = prepare(p, d, {3, 0}, Mode::infer);
    BOOST_TEST(out[0] == (100.0 - 2.0) / std, boost::test_tools::tolerance(1e-5));
    BOOST_TEST(out[1] == (0.0 - 2.0) / std, boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(fitted_state_survives_a_save) {
    const core::Dataset d = shifted_feature();
    core::Pipeline a = make_pipeline({"scale range=-1,1", "standardize"});
    a.build(d.sample_shape, 8, 1.0f, 1);
    a.fit(d, {0, 1, 2, 3});
    core::Pipeline b = make_pipeline({"scale range=-1,1", "standardize"});
    b.build(d.sample_shape, 8, 1.0f, 1);
    b.load_state(a.state());
    BOOST_TEST(prepare(a, d, {0, 1, 2, 3, 4}, Mode::infer) == prepare(b, d, {0, 1, 2, 3, 4}, Mode::infer),
               boost::test_tools::per_element());
    // A state that belongs to no transform of the pipeline is refused, not ignored.
    core::Pipeline c = make_pipeline({"standardize"});
    c.build(d.sample_shape, 8, 1.0f, 1);
    BOOST_CHECK_THROW(c.load_state(a.state()), DataError);
}

BOOST_AUTO_TEST_CASE(augmentation_runs_in_train_mode_only) {
    const core::Dataset d = ramps(3);
    core::Pipeline plain;
    plain.build(d.sample_shape, 8, 255.0f, 7);
    core::Pipeline p = make_pipeline({"flip mode=horizontal p=1", "noise stddev=0.1"});
    p.build(d.sample_shape, 8, 255.0f, 7);
    BOOST_TEST(p.augments());
    const auto raw = prepare(plain, d, {0, 1, 2}, Mode::infer);
    // Validation, test and predict run in infer mode: exactly the gathered pixels.
    BOOST_TEST(prepare(p, d, {0, 1, 2}, Mode::infer) == raw, boost::test_tools::per_element());
    // Training data is flipped (pixel (0,0) of image 1 holds what was at (0,3): 3 + 1) plus noise.
    const auto train = prepare(p, d, {0, 1, 2}, Mode::train);
    BOOST_TEST(train != raw);
    BOOST_TEST(std::abs(train[16] * 255.0f - 4.0f) < 0.5f * 255.0f);
    // The same sample in the same epoch is augmented the same way wherever it sits in a batch.
    const auto alone = prepare(p, d, {1}, Mode::train);
    BOOST_TEST(std::vector<float>(train.begin() + 16, train.begin() + 32) == alone,
               boost::test_tools::per_element());
    BOOST_TEST(prepare(p, d, {1}, Mode::train, 1) != alone);
}

BOOST_AUTO_TEST_CASE(a_transform_that_cannot_take_the_samples_names_itself) {
    core::Pipeline p = make_pipeline({"grayscale"});
    try {
        p.build(Shape{2, 4, 4}, 8, 255.0f, 1);
        BOOST_FAIL("grayscale accepted 2 channels");
    } catch (const ShapeError& e) {
        BOOST_TEST(std::string(e.what()).find("transform 1 (grayscale)") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(background_preparation_trains_exactly_like_inline_preparation) {
    const core::Dataset d = ramps(100);
    core::Subset train{&d, {}}, val{&d, {}};
    for (std::uint32_t i = 0; i < 80; ++i) train.indices.push_back(i);
    for (std::uint32_t i = 80; i < 100; ++i) val.indices.push_back(i);
    std::vector<std::vector<double>> losses;
    for (const bool prefetch : {true, false}) {
        core::Pipeline p = make_pipeline({"standardize", "noise stddev=0.05"});
        p.build(d.sample_shape, 16, 255.0f, 3);
        p.fit(d, train.indices);
        auto device = registry().create_as<Device>("cpu");
        core::Sequential model;
        model.add(registry().create_as<Layer>("dense units=8"), "dense");
        model.add(registry().create_as<Layer>("relu"), "relu");
        model.add(registry().create_as<Layer>("dense units=2"), "dense");
        auto loss = registry().create_as<Loss>("softmax_cross_entropy");
        auto sgd = registry().create_as<Optimizer>("sgd lr=0.05");
        core::TrainOptions opt;
        opt.batch_size = 16;
        opt.epochs = 3;
        opt.seed = 5;
        opt.prefetch = prefetch;
        core::Trainer trainer(*device, model, *loss, *sgd, {}, {}, p, opt);
        trainer.build(2);
        const core::History h = trainer.fit(train, val);
        std::vector<double> l;
        for (const auto& row : h.rows) l.insert(l.end(), row.begin() + 1, row.end() - 2);  // not lr, seconds
        losses.push_back(l);
    }
    BOOST_TEST(losses[0] == losses[1], boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(splits_are_disjoint_and_the_test_set_is_held_out) {
    const auto exp = core::Experiment::parse(
        "[data]\ntrain = idx:/usr/share/datasets/fashion-mnist/t10k\ntrain_limit = 2000\n"
        "split = 70:15:15 stratified\n",
        "splits.ini");
    const auto data = core::load_run_data(core::read_settings(exp).data);
    // Stratified: each class is rounded on its own, so a total may be off by a few samples.
    BOOST_TEST(data->train.size() + data->validation.size() + data->test.size() == 2000u);
    BOOST_TEST(std::abs(int(data->validation.size()) - 300) <= 5);
    BOOST_TEST(std::abs(int(data->test.size()) - 300) <= 5);
    std::set<std::uint32_t> seen;
    for (const auto* s : {&data->train, &data->validation, &data->test})
        for (const auto i : s->indices) BOOST_TEST(seen.insert(i).second);  // no index twice
    // Stratified: every class keeps its share (10 classes, 10 % each within a few samples).
    const auto counts = core::class_counts(data->test.indices, data->train_data.labels, 10);
    for (const auto c : counts) BOOST_TEST((c >= 25 && c <= 35));
}

BOOST_AUTO_TEST_CASE(a_split_given_twice_is_an_error) {
    const auto exp = core::Experiment::parse(
        "[data]\ntrain = idx:/usr/share/datasets/fashion-mnist/t10k\nsplit = 80:20\ntest = 0.1\n", "twice.ini");
    BOOST_CHECK_THROW(core::load_run_data(core::read_settings(exp).data), ConfigError);
}

BOOST_AUTO_TEST_CASE(validation_can_be_a_file_of_its_own) {
    const auto exp = core::Experiment::parse(
        "[data]\ntrain = idx:/usr/share/datasets/fashion-mnist/t10k\ntrain_limit = 500\n"
        "validation = idx:/usr/share/datasets/fashion-mnist/t10k\ntest = 0.2\n",
        "valfile.ini");
    const auto data = core::load_run_data(core::read_settings(exp).data);
    BOOST_TEST(data->train.size() == 400u);
    BOOST_TEST(data->test.size() == 100u);
    BOOST_TEST(data->validation.size() == 10000u);
    BOOST_TEST(data->validation.data == data->validation_data.get());
    BOOST_TEST(data->train.data == &data->train_data);
}
