// OpenCL device tests beyond single ops (the second file of test_devices-opencl; the op table
// is in test_opencl.cpp): a training run on opencl against cpu, the program cache, device
// selection and the error messages (no ICD, a missing device, a failing kernel build). The
// transfer counters of a training step are checked for every device in tests/test_trainer.cpp.
#include <CL/cl.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "platforms.hpp"
#include "plexus/device.hpp"
#include "plexus/error.hpp"
#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"
#include "program_cache.hpp"
#include "temp_dir.hpp"

using plexus::Device;
using plexus::DeviceError;
using plexus::Shape;
using plexus::Tensor;
using plexus::UnaryOp;
using Floats = std::vector<float>;

namespace {

std::shared_ptr<Device> load(const std::string& spec) {
    return plexus::testing::load<Device>(spec, {PLEXUS_TEST_PLUGIN_DIR});
}

// ---- training: the same experiment on both devices, and what crosses to the host

// plexus with LeakSanitizer told about PoCL's and LLVM's never-freed allocations (asan preset).
plexus::test::CommandResult run_plexus(const std::string& args, const std::string& env = {}) {
    return plexus::test::run_plexus(args, env + " LSAN_OPTIONS=suppressions='" PLEXUS_TEST_SOURCE_DIR
                                          "/plugins/devices/opencl/lsan_suppressions.txt'");
}
using plexus::test::TempDir;

const std::string kFashion = "/usr/share/datasets/fashion-mnist";

// An MLP with batchnorm, dropout and Adam, so the fused kernels and random draws take part.
const char* const kMlp =
    "layer = dense units=64 init=he_normal use_bias=false\n"
    "layer = batchnorm\nlayer = relu\nlayer = dropout rate=0.2\n"
    "layer = dense units=32\nlayer = tanh\nlayer = dense units=10\n";
// A CNN: convolutions (same padding, stride 2), batchnorm on images, spatial dropout, max and
// global average pooling, so every window op takes part.
const char* const kCnn =
    "layer = conv2d filters=8 kernel=3 padding=same init=he_normal\n"
    "layer = batchnorm\nlayer = relu\nlayer = dropout rate=0.2 spatial=true\n"
    "layer = max_pool2d size=2\n"
    "layer = conv2d filters=12 kernel=3 stride=2 padding=same use_bias=false\n"
    "layer = relu\nlayer = global_avg_pool2d\nlayer = dense units=10\n";
// An LSTM reading each image as a sequence of 28 rows of 28 pixels, so the fused cell kernels,
// the per-step GEMMs and the layout transposes take part.
const char* const kLstm = "layer = lstm units=16\nlayer = dense units=10\n";

void write_experiment(const std::filesystem::path& file, const char* model) {
    std::ofstream(file) << "[experiment]\nname = opencl_vs_cpu\n"
                           "[data]\ntrain = idx:" << kFashion << "/train\n"
                           "test = idx:" << kFashion << "/t10k\n"
                           "validation = 0.1\nseed = 7\ntrain_limit = 1500\ntest_limit = 300\n"
                           "[model]\n" << model << "loss = softmax_cross_entropy\n"
                           "[train]\noptimizer = adam lr=0.002\nbatch_size = 64\nepochs = 2\n"
                           "metric = accuracy\nverbose = 0\n";
}

// history.csv as columns by name.
std::map<std::string, std::vector<double>> read_history(const std::filesystem::path& run_root) {
    std::filesystem::path csv;
    for (const auto& e : std::filesystem::recursive_directory_iterator(run_root))
        if (e.path().filename() == "history.csv") csv = e.path();
    BOOST_TEST_REQUIRE(!csv.empty());
    std::ifstream in(csv);
    std::string line;
    std::getline(in, line);
    std::vector<std::string> names;
    for (std::stringstream ss(line); std::getline(ss, line, ',');) names.push_back(line);
    std::map<std::string, std::vector<double>> columns;
    while (std::getline(in, line)) {
        std::stringstream ss(line);
        std::string cell;
        for (std::size_t i = 0; std::getline(ss, cell, ','); ++i) columns[names.at(i)].push_back(std::stod(cell));
    }
    return columns;
}

// Trains `model` for 2 epochs on cpu and on opencl: per-epoch losses within 1e-3 relative.
void check_training_matches(const char* model) {
    TempDir dir("opencl-train");
    write_experiment(dir / "exp.ini", model);
    std::map<std::string, std::map<std::string, std::vector<double>>> history;
    // The cpu side without oneDNN: opencl reproduces the cpu device's primitive path, while
    // oneDNN's convolutions sum in another order, enough to flip a validation sample's class
    // (conv2d's fused_kernels_match_the_primitive_path compares those two).
    for (const std::string device : {"cpu", "opencl:0"}) {
        const auto out = dir / device.substr(0, device.find(':'));
        const std::string spec = device == "cpu" ? "'cpu onednn=false'" : device;
        const auto r = run_plexus("train '" + (dir / "exp.ini").string() + "' --device " + spec +
                                  " --out '" + out.string() + "'");
        BOOST_TEST_REQUIRE(r.exit_code == 0, device << ": " << r.err);
        history[device] = read_history(out);
    }
    const auto& c = history["cpu"];
    const auto& o = history["opencl:0"];
    BOOST_TEST_REQUIRE(c.at("loss").size() == 2u);
    BOOST_TEST_REQUIRE(o.at("loss").size() == 2u);
    for (std::size_t e = 0; e < 2; ++e) {
        BOOST_TEST_CONTEXT("epoch " << e + 1) {
            for (const char* loss : {"loss", "val_loss"})
                BOOST_TEST(std::fabs(o.at(loss)[e] - c.at(loss)[e]) <= 1e-3 * std::fabs(c.at(loss)[e]),
                           loss << ": opencl " << o.at(loss)[e] << ", cpu " << c.at(loss)[e]);
            for (const char* acc : {"accuracy", "val_accuracy"})
                BOOST_TEST(std::fabs(o.at(acc)[e] - c.at(acc)[e]) <= 0.005,
                           acc << ": opencl " << o.at(acc)[e] << ", cpu " << c.at(acc)[e]);
        }
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(training_on_opencl_matches_cpu) {
    check_training_matches(kMlp);
}

BOOST_AUTO_TEST_CASE(cnn_training_on_opencl_matches_cpu) {
    check_training_matches(kCnn);
}

BOOST_AUTO_TEST_CASE(lstm_training_on_opencl_matches_cpu) {
    check_training_matches(kLstm);
}

// ---- setup: the program cache, device selection and the error messages

BOOST_AUTO_TEST_CASE(second_start_loads_kernels_from_the_cache) {
    TempDir cache("opencl-cache");
    const std::string previous = std::getenv("XDG_CACHE_HOME");
    ::setenv("XDG_CACHE_HOME", cache.path.c_str(), 1);
    const auto first = load("opencl");
    const auto start = std::chrono::steady_clock::now();
    const auto second = load("opencl");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto third = load("opencl cache=false");
    ::setenv("XDG_CACHE_HOME", previous.c_str(), 1);
    BOOST_TEST(first->description().find("cached") != std::string::npos, first->description());
    BOOST_TEST(second->description().find("from cache") != std::string::npos, second->description());
    BOOST_TEST(third->description().find("no cache") != std::string::npos, third->description());
    BOOST_TEST_MESSAGE("second start: " << seconds << " s");  // timings are for bench/, not asserted
    std::size_t binaries = 0;
    for (const auto& e : std::filesystem::directory_iterator(cache / "plexus" / "opencl"))
        binaries += e.path().extension() == ".bin";
    BOOST_TEST(binaries == 1u);
    // And the cached device computes: 2 * [1, 2] + 1.
    const Tensor x = plexus::testing::make_tensor(*second, {2}, {1, 2});
    second->unary(UnaryOp::scale, x, x, 2.0f);
    second->unary(UnaryOp::add_scalar, x, x, 1.0f);
    BOOST_TEST((plexus::testing::to_host(*second, x) == Floats{3, 5}));
    // PoCL's own kernel cache gets a writable folder when none was configured.
    BOOST_TEST(std::getenv("POCL_CACHE_DIR") != nullptr);
}

BOOST_AUTO_TEST_CASE(a_kernel_build_failure_prints_the_build_log) {
    const auto devices = plexus_opencl::enumerate_devices();
    cl_int err = CL_SUCCESS;
    cl_context context = clCreateContext(nullptr, 1, &devices[0].device, nullptr, nullptr, &err);
    BOOST_TEST_REQUIRE(err == CL_SUCCESS);
    const std::vector<std::string> broken = {
        "__kernel void broken(__global float* y) { y[0] = no_such_name; }\n"};
    try {
        plexus_opencl::build_program(context, devices[0], broken, "", {});
        BOOST_FAIL("expected DeviceError");
    } catch (const DeviceError& e) {
        const std::string m = e.what();
        BOOST_TEST(m.find("opencl: building the kernels for") == 0u, m);
        BOOST_TEST(m.find("build log:") != std::string::npos, m);
        BOOST_TEST(m.find("no_such_name") != std::string::npos, m);  // the compiler's words
    }
    clReleaseContext(context);
}

BOOST_AUTO_TEST_CASE(a_missing_device_lists_those_that_exist) {
    try {
        load("opencl:7");
        BOOST_FAIL("expected an error");
    } catch (const plexus::Error& e) {
        const std::string m = e.what();
        BOOST_TEST(m.find("no device opencl:7") != std::string::npos, m);
        BOOST_TEST(m.find("opencl:0 = ") != std::string::npos, m);
    }
    // cpu:0 is the cpu device; cpu:1 does not exist.
    BOOST_TEST(load("cpu:0")->name() == "cpu");
    BOOST_CHECK_THROW(load("cpu:1"), plexus::PluginError);
}

BOOST_AUTO_TEST_CASE(plexus_devices_lists_every_device) {
    const auto r = run_plexus("devices");
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(r.out.find("opencl:0") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("cpu:0") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("Portable Computing Language") != std::string::npos, r.out);
}

BOOST_AUTO_TEST_CASE(without_an_icd_opencl_says_what_to_install_and_cpu_still_works) {
    TempDir empty("no-icd");
    TempDir out("no-icd-runs");
    const std::string env = "OCL_ICD_VENDORS='" + empty.path.string() + "'";
    const std::string message =
        "no OpenCL device found: install an ICD \u2014 pocl-opencl-icd for CPUs, the NVIDIA/AMD "
        "driver for GPUs";

    const auto devices = run_plexus("devices", env);
    BOOST_TEST(devices.exit_code == 1);
    BOOST_TEST(devices.err.find(message) != std::string::npos, devices.err);
    BOOST_TEST(devices.out.find("cpu:0") != std::string::npos, devices.out);

    write_experiment(out / "exp.ini", kMlp);
    const std::string train = "train '" + (out / "exp.ini").string() + "' --out '" + out.path.string() +
                              "' --set train.epochs=1 --set data.train_limit=300 --device ";
    const auto on_opencl = run_plexus(train + "opencl", env);
    BOOST_TEST(on_opencl.exit_code == 1);
    BOOST_TEST(on_opencl.err.find(message) != std::string::npos, on_opencl.err);
    BOOST_TEST(std::count(on_opencl.err.begin(), on_opencl.err.end(), '\n') == 1);  // one line
    BOOST_TEST(on_opencl.out.find("epoch") == std::string::npos);

    const auto on_cpu = run_plexus(train + "cpu", env);
    BOOST_TEST(on_cpu.exit_code == 0, on_cpu.err);
}
