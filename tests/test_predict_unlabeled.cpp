// plexus predict on new data without labels, from every kind of source that can lack them:
// csv label=none, a CSV of only the model's features, npy without labels=, an image folder
// without class subfolders. No true-label column, no accuracy line; evaluate refuses such data
// with one line. (Before: each was an error or read a feature as the label.)
#define BOOST_TEST_MODULE predict_unlabeled
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "cli.hpp"
#include "plexus/core/modelfile/model_card.hpp"
#include "plexus/core/modelfile/safetensors.hpp"
#include "plexus/core/registry/registry.hpp"
#include "plexus/core/training/model.hpp"
#include "plexus/plexus.hpp"
#include "png.hpp"
#include "reader_files.hpp"

namespace fs = std::filesystem;
using namespace plexus;
using plexus::test::read_text;
using plexus::test::run_plexus;
using plexus::test::write_bytes;
using plexus::test::write_text;

namespace {

// Zero weights, bias log(0.2, 0.8): class "b" with probability 0.8 for every sample.
fs::path constant_model(const fs::path& file, const Shape& input, float divide = 1.0f) {
    core::Registry registry;
    auto device = registry.create_as<Device>("cpu");
    core::Sequential model;
    model.add(registry.create_as<Layer>("dense units=2"), "dense");
    model.build(Shape{1, input.numel()}, *device, 0);
    std::vector<core::HostTensor> tensors;
    for (const auto& w : model.weights())
        tensors.push_back({w.name, w.value.shape(),
                           w.value.shape().rank() == 1
                               ? std::vector<float>{std::log(0.2f), std::log(0.8f)}
                               : std::vector<float>(w.value.numel(), 0.f)});
    core::ModelCard card;
    card.experiment = "constant";
    card.layers = {"dense units=2"};
    card.loss = "softmax_cross_entropy";
    card.input_shape = input;
    card.divide = divide;
    card.classes = 2;
    card.class_names = {"a", "b"};
    core::write_safetensors(file, tensors, card.to_metadata());
    return file;
}

const std::string kRows = "index,predicted,class,p_a,p_b\n0,1,b,0.2,0.8\n1,1,b,0.2,0.8\n";

void check_predicts_unlabeled(const fs::path& model, const std::string& data,
                              const plexus::test::TempDir& tmp) {
    const fs::path out = tmp / "p.csv";
    fs::remove(out);
    const auto r = run_plexus("predict '" + model.string() + "' --data '" + data + "' --out '" +
                              out.string() + "'");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, data << ": " << r.err);
    BOOST_TEST(r.out.find("accuracy") == std::string::npos, r.out);
    BOOST_TEST(r.out.find("2 predictions written to") != std::string::npos, r.out);
    BOOST_TEST(read_text(out) == kRows, data);
    // evaluate needs labels, and says so in one line.
    const auto e = run_plexus("evaluate '" + model.string() + "' --data '" + data + "'");
    BOOST_TEST(e.exit_code == 1, e.err);
    BOOST_TEST(e.err.find("has no labels; evaluate needs them") != std::string::npos, e.err);
    BOOST_TEST(std::count(e.err.begin(), e.err.end(), '\n') == 1, e.err);
}

}  // namespace

BOOST_AUTO_TEST_CASE(csv_without_labels) {
    plexus::test::TempDir tmp{"unlabeled_csv"};
    const fs::path model = constant_model(tmp / "m.safetensors", Shape{3});
    // label=none: every column is a feature.
    write_text(tmp / "three.csv", "x,y,z\n1,2,3\n4,5,6\n");
    check_predicts_unlabeled(model, "csv:" + (tmp / "three.csv").string() + " label=none", tmp);
    // No label= and exactly the model's features: no label column to look for.
    check_predicts_unlabeled(model, "csv:" + (tmp / "three.csv").string(), tmp);
    // A labelled file still reads its last column as the label.
    write_text(tmp / "labelled.csv", "x,y,z,label\n1,2,3,a\n4,5,6,a\n");
    const auto r = run_plexus("predict '" + model.string() + "' --data 'csv:" +
                              (tmp / "labelled.csv").string() + "' --out '" +
                              (tmp / "l.csv").string() + "'");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_TEST(r.out.find("accuracy against the labels 0.0000") != std::string::npos, r.out);
}

BOOST_AUTO_TEST_CASE(npy_without_labels) {
    plexus::test::TempDir tmp{"unlabeled_npy"};
    const fs::path model = constant_model(tmp / "m.safetensors", Shape{3});
    write_bytes(tmp / "x.npy", plexus::test::npy("<f4", "(2, 3)",
                                                 plexus::test::raw(std::vector<float>{
                                                     1, 2, 3, 4, 5, 6})));
    check_predicts_unlabeled(model, "npy:" + (tmp / "x.npy").string(), tmp);
}

BOOST_AUTO_TEST_CASE(image_folder_without_class_subfolders) {
    plexus::test::TempDir tmp{"unlabeled_dir"};
    const fs::path model = constant_model(tmp / "m.safetensors", Shape{1, 8, 8}, 255.0f);
    fs::create_directories(tmp / "new");
    for (int i = 1; i <= 2; ++i) {
        plexus::test::Bytes pixels(64);
        for (std::size_t k = 0; k < pixels.size(); ++k)
            pixels[k] = static_cast<std::uint8_t>(k * 4 * i);
        write_bytes(tmp / "new" / (std::to_string(i) + ".png"), plexus::test::png(8, 8, 1, pixels));
    }
    check_predicts_unlabeled(model, "dir:" + (tmp / "new").string(), tmp);
}
