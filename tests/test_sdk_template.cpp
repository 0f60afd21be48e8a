// End-to-end test of the SDK as a plugin author uses it: sdk/template is configured as its
// own CMake project against this build tree's package (find_package(Plexus) through
// -DPlexus_DIR=<build>/sdk/cmake), built, its test run, and the resulting plugin listed and
// trained with by the `plexus` command. Nothing is copied; all output goes to a temporary
// folder that is removed afterwards.
#define BOOST_TEST_MODULE sdk_template
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sdk_project.hpp"

namespace fs = std::filesystem;
using plexus::test::quote;
using plexus::test::Result;
using plexus::test::run;

namespace {

const fs::path kSourceDir = PLEXUS_TEST_SOURCE_DIR;
const fs::path kBuildDir = PLEXUS_TEST_BUILD_DIR;
const fs::path kFashionMnist = "/usr/share/datasets/fashion-mnist";

// The template configured, built and tested once, in a temporary folder that lives until
// the test program exits.
struct TemplateBuild {
    fs::path root;
    fs::path build;
    Result configure;
    Result compile;

    TemplateBuild() {
        root = plexus::test::make_temp_folder("plexus-sdk-template");
        build = root / "build";
        configure = run(plexus::test::configure_command(
                            kBuildDir, kSourceDir / "sdk/template", build,
                            " -DPlexus_DIR=" + quote((kBuildDir / "sdk/cmake").string())),
                        root / "configure.log");
        if (configure.exit_code == 0)
            compile = run(plexus::test::cmake_of(kBuildDir) + " --build " + quote(build.string()),
                          root / "build.log");
    }

    ~TemplateBuild() {
        std::error_code ec;
        fs::remove_all(root, ec);
    }

    bool ok() const {
        return configure.exit_code == 0 && compile.exit_code == 0;
    }
};

const TemplateBuild& template_build() {
    static const TemplateBuild build;
    return build;
}

std::string plexus_command(const std::string& args) {
    return quote(PLEXUS_TEST_BINARY) + " " + args;
}

boost::test_tools::assertion_result has_fashion_mnist(boost::unit_test::test_unit_id) {
    boost::test_tools::assertion_result r(fs::exists(kFashionMnist / "train-images-idx3-ubyte.gz"));
    r.message() << kFashionMnist.string() << " is missing; skipping the training run";
    return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_template_builds_without_warnings_against_the_build_tree) {
    const auto& t = template_build();
    BOOST_TEST_REQUIRE(t.configure.exit_code == 0, "cmake configure failed:\n"
                                                       << t.configure.output);
    BOOST_TEST_REQUIRE(t.compile.exit_code == 0, "cmake --build failed:\n" << t.compile.output);
    BOOST_TEST(t.compile.output.find("warning") == std::string::npos, t.compile.output);
    BOOST_TEST(fs::is_regular_file(t.build / "libplexus-layers-scaled_tanh.so"));
}

BOOST_AUTO_TEST_CASE(the_templates_own_test_passes) {
    const auto& t = template_build();
    BOOST_TEST_REQUIRE(t.ok(), "the template did not build");
    const auto r = run(quote((t.build / "test_scaled_tanh").string()), t.root / "test.log");
    BOOST_TEST(r.exit_code == 0, r.output);
    BOOST_TEST(r.output.find("No errors detected") != std::string::npos, r.output);
}

BOOST_AUTO_TEST_CASE(plexus_plugins_lists_the_plugin_from_its_build_folder) {
    const auto& t = template_build();
    BOOST_TEST_REQUIRE(t.ok(), "the template did not build");
    const std::string path = " --plugin-path " + quote(t.build.string());
    const auto list = run(plexus_command("plugins" + path), t.root / "plugins.log");
    BOOST_TEST(list.exit_code == 0, list.output);
    BOOST_TEST(list.output.find(" scaled_tanh ") != std::string::npos, list.output);
    BOOST_TEST(list.output.find("libplexus-layers-scaled_tanh.so") != std::string::npos,
               list.output);
    BOOST_TEST(list.output.find("plugin error") == std::string::npos, list.output);

    const auto help = run(plexus_command("plugins scaled_tanh" + path), t.root / "help.log");
    BOOST_TEST(help.exit_code == 0, help.output);
    BOOST_TEST(help.output.find("default 1.7159") != std::string::npos, help.output);
}

BOOST_AUTO_TEST_CASE(plexus_trains_a_model_that_uses_the_plugin,
                     *boost::unit_test::precondition(has_fashion_mnist)) {
    const auto& t = template_build();
    BOOST_TEST_REQUIRE(t.ok(), "the template did not build");
    const fs::path exp = t.root / "scaled_tanh_mlp.ini";
    std::ofstream(exp) << "[experiment]\n"
                          "name = scaled_tanh_mlp\n"
                          "[data]\n"
                          "train = idx:"
                       << (kFashionMnist / "train").string()
                       << "\n"
                          "test = idx:"
                       << (kFashionMnist / "t10k").string()
                       << "\n"
                          "validation = 0.1\n"
                          "train_limit = 2000\n"
                          "test_limit = 500\n"
                          "seed = 42\n"
                          "[model]\n"
                          "layer = dense units=64\n"
                          "layer = scaled_tanh\n"
                          "layer = dense units=10\n"
                          "loss = softmax_cross_entropy\n"
                          "[train]\n"
                          "device = cpu\n"
                          "optimizer = sgd lr=0.1\n"
                          "batch_size = 128\n"
                          "epochs = 1\n"
                          "metric = accuracy\n";
    const fs::path runs = t.root / "runs";
    const auto r = run(plexus_command("train " + quote(exp.string()) + " --plugin-path " +
                                      quote(t.build.string()) + " --out " + quote(runs.string())),
                       t.root / "train.log");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.output);
    BOOST_TEST(r.output.find("scaled_tanh") != std::string::npos, r.output);
    BOOST_TEST(r.output.find("test:") != std::string::npos, r.output);

    std::vector<fs::path> run_dirs;
    for (const auto& entry : fs::directory_iterator(runs)) run_dirs.push_back(entry.path());
    BOOST_TEST_REQUIRE(run_dirs.size() == 1u);
    BOOST_TEST(fs::is_regular_file(run_dirs[0] / "metrics.json"));
    BOOST_TEST(plexus::test::read_text(run_dirs[0] / "metrics.json").find("\"test\"") !=
               std::string::npos);
}
