// Model files crafted to crash, hang or fool predict and evaluate: sizes that wrap, counts
// and strings without bounds, NaN weights, classes the output layer does not produce, a loss
// that does not exist, and class names holding terminal escapes. Each is a one-line DataError
// naming the file (exit code 1 from the CLI); before the fix each was accepted, crashed or
// echoed raw.
#define BOOST_TEST_MODULE model_hostile
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "cli.hpp"
#include "plexus/core/modelfile/model_card.hpp"
#include "plexus/core/modelfile/safetensors.hpp"
#include "plexus/core/modelfile/saved_model.hpp"
#include "plexus/core/registry/registry.hpp"
#include "plexus/core/training/model.hpp"
#include "plexus/plexus.hpp"
#include "reader_files.hpp"

namespace fs = std::filesystem;
using namespace plexus;
using core::HostTensor;
using core::ModelCard;
using plexus::test::check_has;
using plexus::test::error_of;
using plexus::test::run_plexus;

namespace {

// A valid 4-feature, 3-class model (one dense layer) written by hand, and its pieces to damage.
struct Crafted {
    plexus::test::TempDir tmp{"model_hostile"};
    core::Registry registry;
    ModelCard card;
    std::vector<HostTensor> tensors;
    fs::path file = tmp / "m.safetensors";

    Crafted() {
        card.experiment = "crafted";
        card.layers = {"dense units=3"};
        card.loss = "softmax_cross_entropy";
        card.input_shape = Shape{4};
        card.classes = 3;
        card.class_names = {"a", "b", "c"};
        // The layer's own tensor names and shapes; the values are ours.
        auto device = registry.create_as<Device>("cpu");
        core::Sequential model;
        model.add(registry.create_as<Layer>("dense units=3"), "dense");
        model.build(Shape{1, 4}, *device, 0);
        for (const auto& w : model.weights())
            tensors.push_back(
                {w.name, w.value.shape(), std::vector<float>(w.value.numel(), 0.25f)});
        plexus::test::write_text(tmp / "data.csv", "f1,f2,f3,f4,label\n1,2,3,4,0\n4,3,2,1,2\n");
    }
    void write(const std::map<std::string, std::string>& meta) const {
        core::write_safetensors(file, tensors, meta);
    }
    void write() const { write(card.to_metadata()); }
    std::string load_error() const {
        return error_of<plexus::Error>([&] { core::load_model(file, registry, "cpu", 8); });
    }
    // `plexus predict` on the crafted file: must exit 1 with one line on stderr.
    std::string predict_error() const {
        const auto r = run_plexus("predict '" + file.string() +
                                  "' --data 'csv:" + (tmp / "data.csv").string() + "' --out '" +
                                  (tmp / "p.csv").string() + "'");
        BOOST_TEST(r.exit_code == 1, r.err);
        BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
        BOOST_TEST(r.err.size() < 1200u);
        BOOST_TEST(!fs::exists(tmp / "p.csv"));
        return r.err.substr(0, r.err.find('\n'));
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(the_crafted_model_itself_loads_and_predicts) {
    Crafted m;
    m.write();
    const auto model = core::load_model(m.file, m.registry, "cpu", 8);
    BOOST_TEST(model->output_columns() == 3u);
    const auto r = run_plexus("predict '" + m.file.string() +
                              "' --data 'csv:" + (m.tmp / "data.csv").string() + "' --out '" +
                              (m.tmp / "p.csv").string() + "'");
    BOOST_TEST(r.exit_code == 0, r.err);
}

BOOST_AUTO_TEST_CASE(nan_or_infinite_weights_are_refused_by_tensor_name) {
    for (const float bad :
         {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity()}) {
        Crafted m;
        m.tensors.back().values[1] = bad;
        m.write();
        check_has(m.load_error(),
                  {m.file.string() + ": tensor '" + m.tensors.back().name + "' holds " +
                       (std::isnan(bad) ? "NaN" : "an infinite value") + " (value 1 of ",
                   "the model cannot predict"});
        check_has(m.predict_error(), {"tensor '" + m.tensors.back().name + "' holds"});
    }
}

BOOST_AUTO_TEST_CASE(classes_must_match_the_output_layer) {
    Crafted m;
    m.card.classes = 5;
    m.card.class_names = {"a", "b", "c", "d", "e"};
    m.write();
    check_has(m.load_error(),
              {m.file.string() + ": the model's last layer gives [8, 3] per batch, but the "
                                 "metadata says 5 classes"});
    // Two classes with one sigmoid output is a binary model, as training allows.
    Crafted binary;
    binary.card.layers = {"dense units=1"};
    binary.card.classes = 2;
    binary.card.class_names = {"no", "yes"};
    binary.tensors.clear();
    auto device = binary.registry.create_as<Device>("cpu");
    core::Sequential model;
    model.add(binary.registry.create_as<Layer>("dense units=1"), "dense");
    model.build(Shape{1, 4}, *device, 0);
    for (const auto& w : model.weights())
        binary.tensors.push_back(
            {w.name, w.value.shape(), std::vector<float>(w.value.numel(), 0.5f)});
    binary.write();
    BOOST_TEST(core::load_model(binary.file, binary.registry, "cpu", 8)->output_columns() == 1u);
}

BOOST_AUTO_TEST_CASE(the_loss_must_exist_and_train_what_the_model_predicts) {
    Crafted m;
    m.card.loss = "sofmax_cross_entropy";
    m.write();
    check_has(m.load_error(), {"unknown loss 'sofmax_cross_entropy'"});
    check_has(m.predict_error(), {"unknown loss"});
    m.card.loss = "mse";  // a float-target loss on a class model
    m.write();
    check_has(m.load_error(), {m.file.string() + ": the loss 'mse' trains float targets but the "
                                                 "metadata says the model predicts class ids"});
}

BOOST_AUTO_TEST_CASE(counts_and_strings_in_the_metadata_are_bounded) {
    Crafted m;
    auto meta = m.card.to_metadata();
    const auto error_with = [&](const std::string& key, const std::string& value) {
        auto bad = meta;
        bad[key] = value;
        m.write(bad);
        return m.load_error();
    };
    for (const char* classes : {"18446744073709551615", "-1", "65537"})
        check_has(error_with("classes", classes),
                  {"metadata 'classes' must be a whole number from 1 to 65536"});
    std::string layers = "[";
    for (int i = 0; i < 5000; ++i) layers += std::string(i ? "," : "") + "\"relu\"";
    check_has(error_with("layers", layers + "]"),
              {"metadata 'layers' lists 5000 entries, at most 4096 are read"});
    check_has(error_with("class_names", "[\"" + std::string(10'000'000, 'n') + "\",\"b\",\"c\"]"),
              {"metadata 'class_names' entry 0 is 10000000 bytes long, at most 4096"});
    check_has(error_with("loss", std::string(100'000, 'l')),
              {"metadata 'loss' is 100000 bytes long, at most 4096"});
    std::string names = "[";
    for (int i = 0; i < 70000; ++i) names += std::string(i ? "," : "") + "\"x\"";
    check_has(error_with("class_names", names + "]"),
              {"metadata 'class_names' lists 70000 entries, at most 65536"});
    const std::string target = error_with("target", "\x1b[2J" + std::string(1000, 't'));
    check_has(target, {"metadata 'target' must be classes, values or input, found '\\x1b[2Jttt"});
    BOOST_TEST(target.size() < 300u);
    // From the command line too: one short line, exit code 1.
    meta["classes"] = "18446744073709551615";
    m.write(meta);
    check_has(m.predict_error(), {"metadata 'classes' must be a whole number"});
}

BOOST_AUTO_TEST_CASE(sizes_that_wrap_are_errors_not_crashes) {
    Crafted m;
    auto meta = m.card.to_metadata();
    // Each dimension plausible, the product 2^64 (wraps to 0) or 2^64 + 4 (wraps to 4).
    for (const char* shape : {"[4294967296,4294967296]", "[9223372036854775810,2]"}) {
        meta["input_shape"] = shape;
        m.write(meta);
        check_has(m.predict_error(),
                  {m.file.string() + ": metadata 'input_shape' holds a bad dimension"});
    }
    // A layer whose own shape wraps: reshape to (2^63 + 2) x 2 "= 4" values of a 4-feature input.
    meta = m.card.to_metadata();
    meta["layers"] = R"(["reshape shape=9223372036854775810x2","flatten","dense units=3"])";
    m.write(meta);
    check_has(m.predict_error(), {m.file.string() + ": "});
}

BOOST_AUTO_TEST_CASE(class_names_never_reach_the_terminal_raw) {
    Crafted m;
    m.card.class_names = {"\x1b[31mred", "gr\x1b]0;title\x07" "een", "b\xc2\x9b" "2Jlue"};
    m.write();
    const auto r = run_plexus("evaluate '" + m.file.string() +
                              "' --data 'csv:" + (m.tmp / "data.csv").string() + "'");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_TEST(r.out.find('\x1b') == std::string::npos, r.out);
    BOOST_TEST(r.out.find('\x07') == std::string::npos, r.out);
    BOOST_TEST(r.out.find("\xc2\x9b") == std::string::npos, r.out);
    BOOST_TEST(r.out.find("\\x1b[31mred") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("b\\u009b2Jlue") != std::string::npos, r.out);  // a C1 CSI
}
