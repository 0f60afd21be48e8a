// Acceptance test of the installed SDK: Plexus is installed into a temporary prefix
// (cmake --install), then two plugin projects are built against that prefix only
// (CMAKE_PREFIX_PATH, no build-tree path): sdk/template with its own test, which CTest runs
// with the cpu device from the prefix's plugin folder, and a copy of the csv_logger callback
// renamed csv_copy, which uses the SDK's support helpers (atomic files, run paths, text).
// The installed `plexus` then trains one epoch on iris with both plugins, and the copy writes
// its CSV log. Everything lives in one temporary folder, removed afterwards.
#define BOOST_TEST_MODULE sdk_install
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "plexus/support/text.hpp"
#include "runpath.hpp"
#include "sdk_project.hpp"

namespace fs = std::filesystem;
using plexus::test::quote;
using plexus::test::read_text;
using plexus::test::Result;
using plexus::test::run;

namespace {

const fs::path kSourceDir = PLEXUS_TEST_SOURCE_DIR;
const fs::path kBuildDir = PLEXUS_TEST_BUILD_DIR;

// csv_logger's source with its component renamed, so it does not clash with the installed one.
std::string renamed_csv_logger() {
    std::string source = read_text(kSourceDir / "plugins/callbacks/csv_logger/plugin.cpp");
    const std::string from = "component<CsvLogger>(\"csv_logger\"";
    const auto at = source.find(from);
    if (at == std::string::npos)
        throw std::runtime_error("csv_logger/plugin.cpp no longer declares " + from);
    return source.replace(at, from.size(), "component<CsvLogger>(\"csv_copy\"");
}

struct Installed {
    fs::path root = plexus::test::make_temp_folder("plexus-sdk-install");
    fs::path prefix = root / "prefix";
    fs::path template_build = root / "template";
    fs::path copy_source = root / "csv_copy";
    fs::path copy_build = root / "csv_copy/build";
    Result install, template_configure, template_compile, template_test, copy_configure,
        copy_compile;

    Installed() {
        const std::string cmake = plexus::test::cmake_of(kBuildDir);
        install = run(cmake + " --install " + quote(kBuildDir.string()) + " --prefix " +
                          quote(prefix.string()),
                      root / "install.log");
        if (install.exit_code != 0) return;

        fs::create_directories(copy_source);
        std::ofstream(copy_source / "plugin.cpp") << renamed_csv_logger();
        std::ofstream(copy_source / "CMakeLists.txt")
            << "cmake_minimum_required(VERSION 3.25)\n"
               "project(plexus_csv_copy LANGUAGES CXX)\n"
               "find_package(Plexus REQUIRED)\n"
               "plexus_add_plugin(callbacks-csv_copy SOURCES plugin.cpp)\n";

        // The prefix only: no Plexus_DIR, and no package registry that could name the build.
        const std::string against = " -DCMAKE_PREFIX_PATH=" + quote(prefix.string()) +
                                    " -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF";
        template_configure = run(
            plexus::test::configure_command(kBuildDir, kSourceDir / "sdk/template", template_build,
                                            against + " -DSCALED_TANH_BUILD_TESTS=ON"),
            root / "template-configure.log");
        if (template_configure.exit_code == 0)
            template_compile = run(cmake + " --build " + quote(template_build.string()),
                                   root / "template-build.log");
        // Without PLEXUS_PLUGIN_PATH, so the test finds the cpu device only where the template's
        // CMakeLists points it: Plexus_PLUGIN_DIR of the package found in the prefix.
        if (template_compile.exit_code == 0)
            template_test =
                run("env -u PLEXUS_PLUGIN_PATH " + plexus::test::ctest_of(kBuildDir) +
                        " --test-dir " + quote(template_build.string()) + " --output-on-failure",
                    root / "template-test.log");
        copy_configure =
            run(plexus::test::configure_command(kBuildDir, copy_source, copy_build, against),
                root / "copy-configure.log");
        if (copy_configure.exit_code == 0)
            copy_compile =
                run(cmake + " --build " + quote(copy_build.string()), root / "copy-build.log");
    }

    ~Installed() {
        std::error_code ec;
        fs::remove_all(root, ec);
    }

    bool ok() const {
        return install.exit_code == 0 && template_compile.exit_code == 0 &&
               copy_compile.exit_code == 0;
    }

    std::string plexus(const std::string& args) const {
        return quote((prefix / "bin/plexus").string()) + " " + args + " --plugin-path " +
               quote(template_build.string()) + " --plugin-path " + quote(copy_build.string());
    }
};

const Installed& installed() {
    static const Installed i;
    return i;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_install_holds_the_sdk_and_no_core_header) {
    const auto& i = installed();
    BOOST_TEST_REQUIRE(i.install.exit_code == 0, "cmake --install failed:\n" << i.install.output);
    for (const char* file :
         {"bin/plexus", "lib/libplexus_core.so", "lib/cmake/Plexus/PlexusConfig.cmake",
          "lib/cmake/Plexus/PlexusTargets.cmake", "lib/plexus/plugins/libplexus-devices-cpu.so",
          "lib/plexus/plugins/libplexus-callbacks-csv_logger.so", "include/plexus/plexus.hpp",
          "include/plexus/testing.hpp", "include/plexus/testing/callbacks.hpp",
          "include/plexus/support/files.hpp", "include/plexus/support/monitor.hpp",
          "include/plexus/support/optimizer.hpp", "include/plexus/testing/optimizers.hpp"})
        BOOST_TEST(fs::is_regular_file(i.prefix / file), file);
    BOOST_TEST(!fs::exists(i.prefix / "include/plexus/core"));
}

BOOST_AUTO_TEST_CASE(the_template_and_a_copied_plugin_build_against_the_prefix_only) {
    const auto& i = installed();
    BOOST_TEST_REQUIRE(i.install.exit_code == 0);
    BOOST_TEST_REQUIRE(i.template_configure.exit_code == 0, i.template_configure.output);
    BOOST_TEST_REQUIRE(i.template_compile.exit_code == 0, i.template_compile.output);
    BOOST_TEST_REQUIRE(i.copy_configure.exit_code == 0, i.copy_configure.output);
    BOOST_TEST_REQUIRE(i.copy_compile.exit_code == 0, i.copy_compile.output);
    BOOST_TEST(i.template_compile.output.find("warning") == std::string::npos,
               i.template_compile.output);
    BOOST_TEST(i.copy_compile.output.find("warning") == std::string::npos, i.copy_compile.output);
    const fs::path package = i.prefix / "lib/cmake/Plexus";
    for (const fs::path& build : {i.template_build, i.copy_build})
        BOOST_TEST(plexus::test::cache_value(build, "Plexus_DIR").value_or("") == package.string(),
                   build.string());
    BOOST_TEST(fs::is_regular_file(i.template_build / "libplexus-layers-scaled_tanh.so"));
    BOOST_TEST(fs::is_regular_file(i.copy_build / "libplexus-callbacks-csv_copy.so"));
}

BOOST_AUTO_TEST_CASE(the_template_test_passes_against_the_prefix_only) {
    const auto& i = installed();
    BOOST_TEST_REQUIRE(i.template_compile.exit_code == 0, "the template did not build");
    BOOST_TEST(i.template_test.exit_code == 0, i.template_test.output);
    BOOST_TEST(i.template_test.output.find("100% tests passed, 0 tests failed out of 1") !=
                   std::string::npos,
               i.template_test.output);
    // The test was compiled to load the cpu device from the prefix, and nothing in the
    // template's build names the Plexus build tree.
    const std::string ninja = read_text(i.template_build / "build.ninja");
    BOOST_TEST(ninja.find((i.prefix / "lib/plexus/plugins").string()) != std::string::npos);
    BOOST_TEST(ninja.find(kBuildDir.string()) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_installed_plexus_uses_its_own_core_and_plugins) {
    const auto& i = installed();
    BOOST_TEST_REQUIRE(i.ok(), "the install or a plugin build failed");
    const auto cpu = run(i.plexus("plugins cpu"), i.root / "cpu.log");
    BOOST_TEST(cpu.exit_code == 0, cpu.output);
    // Plugins are listed by the real path they were checked and loaded through.
    BOOST_TEST(cpu.output.find((i.prefix / "lib/plexus/plugins/libplexus-devices-cpu.so").string()) !=
                   std::string::npos,
               cpu.output);
    const auto ldd = run("ldd " + quote((i.prefix / "bin/plexus").string()), i.root / "ldd.log");
    BOOST_TEST(ldd.output.find("libplexus_core.so.0 => " + (i.prefix / "bin/../lib").string()) !=
                   std::string::npos,
               ldd.output);
}

// The install finds its core relative to itself ($ORIGIN entries only, none empty, so never
// the working directory), and never searches the build tree it came from: a copy of it
// without a plugin folder lists no plugin (it used to fall back to the build tree's).
BOOST_AUTO_TEST_CASE(the_install_runs_from_its_own_folders_only) {
    const auto& i = installed();
    BOOST_TEST_REQUIRE(i.install.exit_code == 0, "cmake --install failed");
    for (const fs::path& file :
         {i.prefix / "bin/plexus", i.prefix / "lib/plexus/plugins/libplexus-devices-cpu.so"}) {
        const auto entries = plexus::test::runpath_entries(file);
        BOOST_TEST(!entries.empty(), file.string() << " has no RUNPATH");
        for (const auto& entry : entries)
            BOOST_TEST(entry.rfind("$ORIGIN", 0) == 0u,
                       file.string() << ": RUNPATH entry '" << entry << "'");
    }
    const fs::path bare = i.root / "bare";
    fs::create_directories(bare / "bin");
    fs::create_directories(bare / "lib");
    fs::copy_file(i.prefix / "bin/plexus", bare / "bin/plexus");
    for (const auto& entry : fs::directory_iterator(i.prefix / "lib"))
        if (entry.path().filename().string().rfind("libplexus_core.so", 0) == 0)
            fs::copy(entry.path(), bare / "lib" / entry.path().filename(),
                     fs::copy_options::copy_symlinks);
    const auto r = run("env -u PLEXUS_PLUGIN_PATH " + quote((bare / "bin/plexus").string()) +
                           " plugins",
                       i.root / "bare.log");
    BOOST_TEST(r.exit_code == 0, r.output);
    BOOST_TEST(r.output.find("0 components") != std::string::npos, r.output);
    BOOST_TEST(r.output.find(kBuildDir.string()) == std::string::npos, r.output);
}

BOOST_AUTO_TEST_CASE(the_installed_plexus_trains_one_epoch_with_both_plugins) {
    const auto& i = installed();
    BOOST_TEST_REQUIRE(i.ok(), "the install or a plugin build failed");
    const fs::path exp = i.root / "iris.ini";
    std::ofstream(exp) << "[experiment]\nname = sdk_install\n[data]\ntrain = csv:"
                       << (kSourceDir / "examples/data/iris.csv").string()
                       << " label=species\nsplit = 60:20:20 stratified\n"
                          "transform = standardize\nseed = 7\n"
                          "[model]\nlayer = dense units=8\nlayer = scaled_tanh\n"
                          "layer = dense units=3\nloss = softmax_cross_entropy\n"
                          "[train]\noptimizer = sgd lr=0.1\nbatch_size = 16\nepochs = 1\n"
                          "metric = accuracy\ncallback = csv_copy path={run_dir}/copy.csv\n";
    const fs::path runs = i.root / "runs";
    const auto r = run(i.plexus("train " + quote(exp.string()) + " --out " + quote(runs.string())),
                       i.root / "train.log");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.output);
    BOOST_TEST(r.output.find("scaled_tanh") != std::string::npos, r.output);

    std::vector<fs::path> run_dirs;
    for (const auto& entry : fs::directory_iterator(runs)) run_dirs.push_back(entry.path());
    BOOST_TEST_REQUIRE(run_dirs.size() == 1u);
    const auto lines = plexus::support::split(read_text(run_dirs[0] / "copy.csv"), '\n');
    BOOST_TEST_REQUIRE(lines.size() == 3u, read_text(run_dirs[0] / "copy.csv"));  // + final ""
    BOOST_TEST(lines[0] == "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds");
    BOOST_TEST(lines[1].rfind("1,", 0) == 0u, lines[1]);
    BOOST_TEST(plexus::support::split(lines[1], ',').size() == 7u, lines[1]);
    BOOST_TEST(lines[2] == "");
}
