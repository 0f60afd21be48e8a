// No binary of the build makes the loader search the current folder: every RUNPATH entry is
// absolute or $ORIGIN-relative, never empty (CMake's install-time padding left a trailing ':'
// on the plexus executable and every plugin, so libstdc++ was looked up in the cwd first).
// What gets installed (plexus, the plugins) carries $ORIGIN entries only, so the same
// RUNPATH holds in the build tree and in any install prefix.
#define BOOST_TEST_MODULE runpath
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "runpath.hpp"

namespace fs = std::filesystem;
using plexus::test::independent_of_cwd;
using plexus::test::runpath_entries;

namespace {

const fs::path kBuild = PLEXUS_TEST_BUILD_DIR;
const fs::path kPlugins = PLEXUS_TEST_PLUGIN_DIR;

std::vector<fs::path> in_tree_plugins() {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(kPlugins))
        if (e.path().extension() == ".so") out.push_back(e.path());
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_parser_sees_an_empty_entry) {
    // The check below must be able to fail: a library linked with a trailing ':' shows one.
    const auto entries = runpath_entries(
        kBuild / "tests/fixtures/runpath_empty/libplexus-layers-fixture_runpath.so");
    BOOST_TEST_REQUIRE(entries.size() == 2u);
    BOOST_TEST(entries[0] == "/nonexistent");
    BOOST_TEST(entries[1].empty());
    BOOST_TEST(!independent_of_cwd(entries[1]));
    BOOST_TEST(!independent_of_cwd("lib"));
}

BOOST_AUTO_TEST_CASE(no_binary_searches_the_working_directory) {
    std::vector<fs::path> files = {PLEXUS_TEST_BINARY, fs::read_symlink("/proc/self/exe"),
                                   kBuild / "lib/libplexus_core.so",
                                   kBuild / "tests/fixtures/good/libplexus-layers-fixture_good.so"};
    for (const auto& plugin : in_tree_plugins()) files.push_back(plugin);
    BOOST_TEST_REQUIRE(files.size() > 10u);
    for (const auto& file : files)
        for (const auto& entry : runpath_entries(file))
            BOOST_TEST(independent_of_cwd(entry), file.string()
                                                      << ": RUNPATH entry '" << entry << "'");
}

BOOST_AUTO_TEST_CASE(installed_binaries_find_the_core_relative_to_themselves) {
    std::vector<fs::path> files = {PLEXUS_TEST_BINARY};
    for (const auto& plugin : in_tree_plugins()) files.push_back(plugin);
    for (const auto& file : files) {
        const auto entries = runpath_entries(file);
        BOOST_TEST(!entries.empty(), file.string() << " has no RUNPATH");
        for (const auto& entry : entries)
            BOOST_TEST(entry.rfind("$ORIGIN", 0) == 0, file.string()
                                                           << ": RUNPATH entry '" << entry << "'");
    }
}
