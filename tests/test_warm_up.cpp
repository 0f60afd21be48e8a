// SavedModel::warm_up, the first forward pass that `plexus evaluate` and `predict` run on a
// helper thread while they read the data: it must change nothing the pass computes. A model
// with random weights is evaluated with and without the warm-up (and twice on one load, the
// device buffers kept between passes): probabilities and metrics bitwise equal. Background
// hands the work's error to join().
#define BOOST_TEST_MODULE warm_up
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "reader_files.hpp"
#include "temp_dir.hpp"
#include "plexus/core/data/readers/sources.hpp"
#include "plexus/core/modelfile/ensemble.hpp"
#include "plexus/core/modelfile/safetensors.hpp"
#include "plexus/core/training/inference.hpp"
#include "plexus/core/training/metric_names.hpp"
#include "plexus/plexus.hpp"

namespace fs = std::filesystem;
using namespace plexus;
using plexus::test::write_text;

namespace {

constexpr std::size_t kFeatures = 5, kSamples = 53, kBatch = 8;  // 6 full batches and 5 rows

// dense 16, relu, dense 3 with seeded random weights and biases (nothing is zero, so a
// buffer the warm-up left behind would show in the outputs).
fs::path random_model(const fs::path& file) {
    core::Registry registry;
    auto device = registry.create_as<Device>("cpu");
    const std::vector<std::string> layers = {"dense units=16", "relu", "dense units=3"};
    core::Sequential model;
    for (const auto& spec : layers) {
        const auto cs = core::parse_component_spec(spec, "test");
        model.add(registry.create_as<Layer>(cs), cs.name);
    }
    model.build(Shape{1, kFeatures}, *device, 0);
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 0.7f);
    std::vector<core::HostTensor> tensors;
    for (const auto& w : model.weights()) {
        std::vector<float> v(w.value.numel());
        for (float& x : v) x = normal(rng);
        tensors.push_back({w.name, w.value.shape(), v});
    }
    core::ModelCard card;
    card.experiment = "random";
    card.loss = "softmax_cross_entropy";
    card.input_shape = Shape{kFeatures};
    card.classes = 3;
    card.class_names = {"a", "b", "c"};
    card.layers = layers;
    core::write_safetensors(file, tensors, card.to_metadata());
    return file;
}

std::string random_csv() {
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> u(-2.0f, 2.0f);
    std::string csv = "f1,f2,f3,f4,f5,label\n";
    for (std::size_t i = 0; i < kSamples; ++i) {
        for (std::size_t f = 0; f < kFeatures; ++f) csv += std::to_string(u(rng)) + ",";
        csv += std::string(1, "abc"[i % 3]) + "\n";
    }
    return csv;
}

struct Result {
    std::vector<float> probabilities;
    std::vector<double> metrics;  // every value of every metric's result, in order
};

Result evaluate(core::SavedModel& model, const core::Dataset& data, const core::Registry& registry) {
    std::vector<core::ComponentSpec> specs = {core::parse_component_spec("accuracy", "test"),
                                              core::parse_component_spec("f1 average=macro", "test")};
    auto metrics = core::create_named_metrics(registry, specs);
    std::vector<std::uint32_t> ids(data.count);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::uint32_t>(i);
    Result r;
    model.evaluate(data, ids, metrics, &r.probabilities);
    for (const auto& m : metrics)
        for (const auto& [name, value] : m->result()) r.metrics.push_back(value);
    return r;
}

void require_bitwise_equal(const Result& a, const Result& b) {
    BOOST_REQUIRE_EQUAL(a.probabilities.size(), kSamples * 3);
    BOOST_REQUIRE_EQUAL(b.probabilities.size(), a.probabilities.size());
    BOOST_TEST(std::memcmp(a.probabilities.data(), b.probabilities.data(),
                           a.probabilities.size() * sizeof(float)) == 0);
    BOOST_REQUIRE_EQUAL(a.metrics.size(), b.metrics.size());
    BOOST_REQUIRE(!a.metrics.empty());
    for (std::size_t i = 0; i < a.metrics.size(); ++i)
        BOOST_TEST(std::memcmp(&a.metrics[i], &b.metrics[i], sizeof(double)) == 0,
                   i << ": " << a.metrics[i] << " against " << b.metrics[i]);
}

}  // namespace

BOOST_AUTO_TEST_CASE(warm_up_changes_no_output) {
    plexus::test::TempDir tmp{"warm_up"};
    const fs::path file = random_model(tmp / "model.safetensors");
    write_text(tmp / "data.csv", random_csv());
    core::Registry registry;
    const core::Dataset data =
        core::load_dataset("csv:" + (tmp / "data.csv").string() + " label=label", {}, "", nullptr);

    auto cold = core::load_model(file, registry, "cpu", kBatch);
    const Result plain = evaluate(*cold, data, registry);
    // The probabilities are a softmax of outputs that differ per sample: not a constant row.
    BOOST_TEST(plain.probabilities[0] != plain.probabilities[3]);

    auto warm = core::load_model(file, registry, "cpu", kBatch);
    core::Background background([&] { warm->warm_up(); });
    background.join();
    require_bitwise_equal(plain, evaluate(*warm, data, registry));
    // A second pass on the same load reuses the input buffers the first one left filled.
    require_bitwise_equal(plain, evaluate(*warm, data, registry));
    warm->warm_up();
    require_bitwise_equal(plain, evaluate(*warm, data, registry));
}

BOOST_AUTO_TEST_CASE(ensemble_warm_up_runs_every_member) {
    plexus::test::TempDir tmp{"warm_up"};
    const fs::path file = random_model(tmp / "model.safetensors");
    core::Registry registry;
    std::vector<std::unique_ptr<core::SavedModel>> members;
    members.push_back(core::load_model(file, registry, "cpu", kBatch));
    members.push_back(core::load_model(file, registry, "cpu", kBatch));
    auto e = core::make_ensemble(std::move(members), {"a", "b"}, "average", {});
    e->warm_up();
    for (const auto& m : e->members) BOOST_TEST(!m->x_in.empty());
}

BOOST_AUTO_TEST_CASE(background_hands_its_error_to_join) {
    core::Background failing([] { throw DataError("warm-up failed"); });
    BOOST_CHECK_EXCEPTION(failing.join(), DataError, [](const DataError& e) {
        return std::string(e.what()) == "warm-up failed";
    });
    failing.join();  // the error is handed over once

    int runs = 0;
    {
        core::Background ok([&] { ++runs; });
        ok.join();
        ok.join();
    }
    BOOST_TEST(runs == 1);
    // Never joined: the destructor waits and drops the error.
    BOOST_CHECK_NO_THROW({ core::Background dropped([] { throw std::runtime_error("x"); }); });
    // Work that fails at once, many times: the error must be there to be set before the
    // constructor returns (it was not, once: `plexus train` on a missing data file crashed).
    int caught = 0;
    for (int i = 0; i < 2000; ++i) {
        core::Background at_once([] { throw DataError("at once"); });
        try {
            at_once.join();
        } catch (const DataError&) {
            ++caught;
        }
    }
    BOOST_TEST(caught == 2000);
}
