// plexus export --onnx end to end: small models trained here (an MLP with standardize, a CNN on
// uint8 images with batchnorm and pooling, an LSTM and a GRU regression with standardized inputs
// and target) are exported, checked by onnx.checker and run by an independent runtime (OpenCV's
// dnn; for the recurrent graphs, which OpenCV 4.6 cannot import, a numpy evaluation written from
// the ONNX operator specification, tests/onnx_check.py) on the inputs plexus predict also gets:
// max abs difference <= 1e-5 on probabilities. Skipped (CTest) without python3-onnx/opencv.
#define BOOST_TEST_MODULE onnx_export
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <fstream>

#include "cli.hpp"

namespace fs = std::filesystem;
using plexus::test::CommandResult;
using plexus::test::run_plexus;
using plexus::test::TempDir;

namespace {

const std::string kPython = "/usr/bin/python3";
const fs::path kScript = fs::path(PLEXUS_TEST_SOURCE_DIR) / "tests/onnx_check.py";

std::string q(const fs::path& p) {
    return "'" + p.string() + "'";
}

CommandResult shell(const std::string& cmd, const fs::path& log) {
    CommandResult r;
    const int status = std::system((cmd + " > " + q(log) + " 2>&1").c_str());
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    r.out = plexus::test::read_text(log);
    return r;
}

// The Python side: true when it can run; prints the skip line CTest looks for otherwise.
bool python_ready(const fs::path& dir) {
    const auto r = shell(kPython + " " + q(kScript) + " probe", dir / "probe.log");
    if (r.exit_code == 0) return true;
    std::cout << "test_onnx_export skipped: " << r.out << std::endl;
    return false;
}

fs::path only_run(const fs::path& runs) {
    fs::path found;
    for (const auto& e : fs::directory_iterator(runs)) found = e.path();
    return found;
}

struct Case {
    std::string name, model, data, x, kind, input = "float", fallback = "";
};

// Trains `c.model` on `c.data`, exports it, predicts the same data and compares.
void check(const fs::path& dir, const Case& c) {
    std::ofstream(dir / (c.name + ".ini"))
        << "[data]\ntrain = " << c.data << "\nvalidation = 0.2\n"
        << c.model
        << "[train]\noptimizer = adam lr=0.01\nbatch_size = 16\nepochs = 3\nverbose = 0\n";
    const fs::path runs = dir / ("runs_" + c.name), onnx = dir / (c.name + ".onnx"),
                   csv = dir / (c.name + ".csv");
    auto r = run_plexus("train " + q(dir / (c.name + ".ini")) + " --out " + q(runs));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, c.name << ": " << r.err);
    const fs::path run = only_run(runs);
    r = run_plexus("export " + q(run) + " --onnx " + q(onnx) + " --input " + c.input);
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, c.name << ": " << r.err);
    BOOST_TEST(r.out.find("opset 13") != std::string::npos, r.out);
    r = run_plexus("predict " + q(run) + " --data '" + c.data + "' --out " + q(csv));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, c.name << ": " << r.err);
    const auto cmp = shell(kPython + " " + q(kScript) + " compare " + q(onnx) + " " + q(dir / c.x) +
                               " " + q(csv) + " " + c.kind + " " + c.fallback,
                           dir / (c.name + ".log"));
    BOOST_TEST_MESSAGE(c.name << ":\n" << cmp.out);
    BOOST_TEST(cmp.exit_code == 0, c.name << ": " << cmp.out);
    BOOST_TEST(cmp.out.find("onnx.checker: ok") != std::string::npos, cmp.out);
}

struct Data {
    TempDir tmp{"onnx_export"};
    bool ready = python_ready(tmp.path);
    Data() {
        if (!ready) return;
        const auto r = shell(kPython + " " + q(kScript) + " data " + q(tmp.path) + " " +
                                 q(fs::path(PLEXUS_TEST_SOURCE_DIR) / "examples/data/iris.csv"),
                             tmp.path / "data.log");
        BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.out);
    }
    std::string npy(const std::string& stem, const std::string& y) const {
        return "npy:" + (tmp.path / (stem + "_x.npy")).string() + " " + y + "=" +
               (tmp.path / (stem + "_y.npy")).string();
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(an_mlp_with_standardize_matches_opencv) {
    Data d;
    if (!d.ready) return;
    check(d.tmp.path,
          {"mlp",
           "transform = standardize\n[model]\nlayer = dense units=16\nlayer = batchnorm\n"
           "layer = relu\nlayer = dropout rate=0.2\nlayer = dense units=8\n"
           "layer = leaky_relu alpha=0.1\nlayer = dense units=6\nlayer = elu\n"
           "layer = dense units=3\n",
           d.npy("iris", "labels"), "iris_x.npy", "probabilities"});
}

BOOST_AUTO_TEST_CASE(a_cnn_on_uint8_images_matches_opencv) {
    Data d;
    if (!d.ready) return;
    check(d.tmp.path,
          {"cnn",
           "[model]\nlayer = conv2d filters=4 kernel=3 padding=same\nlayer = batchnorm\n"
           "layer = relu\nlayer = max_pool2d size=2\n"
           "layer = conv2d filters=4 kernel=3 padding=1\nlayer = tanh\n"
           "layer = avg_pool2d size=3 stride=2 padding=same\nlayer = flatten\n"
           "layer = dense units=3\n",
           d.npy("img", "labels"), "img_x.npy", "probabilities", "uint8"});
}

BOOST_AUTO_TEST_CASE(a_cnn_with_global_pooling_and_sigmoid_matches_opencv) {
    Data d;
    if (!d.ready) return;
    check(d.tmp.path,
          {"cnn_global",
           "[model]\nlayer = reshape shape=8x8\nlayer = conv2d filters=3 kernel=2x3 "
           "stride=2x1\nlayer = sigmoid\nlayer = global_max_pool2d\nlayer = dense units=3\n"
           "layer = softmax\n",
           d.npy("img", "labels"), "img_x.npy", "probabilities", "uint8"});
}

BOOST_AUTO_TEST_CASE(an_lstm_and_simple_rnn_regression_matches_the_onnx_semantics) {
    Data d;
    if (!d.ready) return;
    check(d.tmp.path, {"lstm",
                       "transform = standardize\ntarget_transform = standardize\n[model]\n"
                       "layer = lstm units=5 return_sequences=true\n"
                       "layer = simple_rnn units=3 activation=relu\nlayer = dense units=1\n"
                       "loss = mse\n",
                       d.npy("seq", "targets"), "seq_x.npy", "values", "float", "numpy"});
}

BOOST_AUTO_TEST_CASE(a_bidirectional_gru_regression_matches_the_onnx_gru_semantics) {
    Data d;
    if (!d.ready) return;
    check(d.tmp.path, {"gru",
                       "transform = standardize\ntarget_transform = standardize\n[model]\n"
                       "layer = gru units=4 return_sequences=true bidirectional=true\n"
                       "layer = flatten\nlayer = dense units=1\nloss = mse\n",
                       d.npy("seq", "targets"), "seq_x.npy", "values", "float", "numpy"});
}

// No Python needed: a layer without an ONNX form is one line naming it, a bad opset is refused,
// and neither leaves a file behind.
BOOST_AUTO_TEST_CASE(a_layer_without_an_onnx_form_is_named_and_nothing_is_written) {
    TempDir tmp("onnx_export_errors");
    const std::string iris = (fs::path(PLEXUS_TEST_SOURCE_DIR) / "examples/data/iris.csv").string();
    std::ofstream(tmp.path / "rnn.ini")
        << "[data]\ntrain = csv:" << iris << " label=species\nvalidation = 0.2\n"
        << "[model]\nlayer = reshape shape=2x2\nlayer = gru units=3 activation=linear\n"
        << "layer = dense units=3\n"
        << "[train]\nepochs = 1\nverbose = 0\n";
    auto r = run_plexus("train " + q(tmp.path / "rnn.ini") + " --out " + q(tmp.path / "runs"));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const fs::path run = only_run(tmp.path / "runs"), out = tmp.path / "m.onnx";
    r = run_plexus("export " + q(run) + " --onnx " + q(out));
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.err.find("layer 1 (gru units=3 activation=linear) has no ONNX form: "
                          "activation=linear") != std::string::npos,
               r.err);
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
    BOOST_TEST(!fs::exists(out));
    for (const char* opset : {"12", "18"}) {
        r = run_plexus("export " + q(run) + " --onnx " + q(out) + " --opset " + opset);
        BOOST_TEST(r.exit_code == 2, opset);
        BOOST_TEST(r.err.find("--opset must be in 13..17") != std::string::npos, r.err);
        BOOST_TEST(!fs::exists(out));
    }
    r = run_plexus("export " + q(tmp.path / "missing") + " --onnx " + q(out));
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(!fs::exists(out));
    // A damaged model file fails in the loader, as predict's does: one line, no file.
    std::ofstream(tmp.path / "bad.safetensors") << std::string(8, '\xff') << "{not json";
    r = run_plexus("export " + q(tmp.path / "bad.safetensors") + " --onnx " + q(out));
    BOOST_TEST(r.exit_code == 1, r.err);
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
    BOOST_TEST(!fs::exists(out));
}

// A transform that changes the sample shape has no ONNX form either: named, nothing written.
BOOST_AUTO_TEST_CASE(a_shape_changing_transform_is_named_and_nothing_is_written) {
    TempDir tmp("onnx_export_transform");
    // 12 RGB images [3, 2, 2] of two classes as .npy (float32 and int64, C order).
    auto npy = [](const fs::path& file, const std::string& descr, const std::string& shape,
                  const std::string& bytes) {
        std::string header =
            "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
        header.append(63 - (10 + header.size()) % 64, ' ');
        header += '\n';
        const std::uint16_t len = static_cast<std::uint16_t>(header.size());
        std::ofstream(file, std::ios::binary)
            << std::string("\x93NUMPY\x01\x00", 8) << char(len & 0xff) << char(len >> 8) << header
            << bytes;
    };
    std::vector<float> x(12 * 12);
    std::vector<std::int64_t> y(12);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float((i * 7) % 11) + float(i / 12 % 2) * 5;
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = std::int64_t(i % 2);
    npy(tmp.path / "x.npy", "<f4", "(12, 3, 2, 2)",
        std::string(reinterpret_cast<const char*>(x.data()), x.size() * sizeof(float)));
    npy(tmp.path / "y.npy", "<i8", "(12,)",
        std::string(reinterpret_cast<const char*>(y.data()), y.size() * sizeof(std::int64_t)));
    std::ofstream(tmp.path / "gray.ini")
        << "[data]\ntrain = npy:" << (tmp.path / "x.npy").string()
        << " labels=" << (tmp.path / "y.npy").string() << "\nvalidation = 0.25\n"
        << "transform = standardize per=global\ntransform = grayscale\n"
        << "[model]\nlayer = flatten\nlayer = dense units=2\n[train]\nepochs = 1\nverbose = 0\n";
    auto r = run_plexus("train " + q(tmp.path / "gray.ini") + " --out " + q(tmp.path / "runs"));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const fs::path out = tmp.path / "m.onnx";
    r = run_plexus("export " + q(only_run(tmp.path / "runs")) + " --onnx " + q(out));
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.err.find("transform 1 (grayscale) has no ONNX form: it changes the sample "
                          "shape [3, 2, 2]") != std::string::npos,
               r.err);
    BOOST_TEST(!fs::exists(out));
}

// protobuf and onnx_proto cost ~20 ms of start-up to a process that links them: only the
// exporter's library may (plexus export opens it).
BOOST_AUTO_TEST_CASE(only_the_exporter_library_links_protobuf) {
    TempDir tmp("onnx_export_links");
    const fs::path build = PLEXUS_TEST_BUILD_DIR;
    for (const fs::path& file : {fs::path(PLEXUS_TEST_BINARY), build / "lib/libplexus_core.so"}) {
        const auto r = shell("readelf -d " + q(file), tmp.path / "readelf.log");
        BOOST_REQUIRE(r.exit_code == 0);
        BOOST_TEST(r.out.find("NEEDED") != std::string::npos, r.out);
        BOOST_TEST(r.out.find("libprotobuf") == std::string::npos, file << ": " << r.out);
        BOOST_TEST(r.out.find("libonnx") == std::string::npos, file << ": " << r.out);
    }
    const auto r = shell("readelf -d " + q(build / "lib/libplexus_onnx.so"), tmp.path / "onnx.log");
    BOOST_TEST(r.out.find("libonnx_proto") != std::string::npos, r.out);
}
