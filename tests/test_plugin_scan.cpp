// A plugin file that passes every check made from the file but kills whatever loads it (here
// a static constructor raising SIGSEGV, as a damaged relocation would fault in ld.so) is
// loaded first in a fork of the host: the host refuses it with one line and lists the rest.
// Good verdicts are cached, so a warm start forks nothing; a damaged cache is ignored.
#define BOOST_TEST_MODULE plugin_scan
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli.hpp"
#include "plexus/core/registry/plugin_scan.hpp"
#include "plexus/core/registry/registry.hpp"
#include "plexus/plexus.hpp"
#include "registry_fixtures.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using plexus::core::Registry;
using plexus::test::contains;
using plexus::test::only;
using plexus::test::run_plexus;

namespace {

const fs::path kFixtures = PLEXUS_TEST_FIXTURE_DIR;
const char* const kCrashName = "libplexus-layers-fixture_crash.so";
const char* const kGoodName = "libplexus-layers-fixture_good.so";
const std::string kStarted = "plexus: plugin scanner ";  // PLEXUS_DEBUG_PLUGINS's trace

/// A plugin folder holding the crashing fixture and the good one, and a cache folder.
struct Folder {
    plexus::test::TempDir dir{"scan"};
    fs::path plugins = dir.path / "plugins";
    fs::path cache_home = dir.path / "cache";
    fs::path cache_file = cache_home / "plexus" / "plugin-scan";
    fs::path crash = plugins / kCrashName;
    Folder() {
        fs::create_directories(plugins);
        fs::copy_file(kFixtures / "crash" / kCrashName, crash);
        fs::copy_file(kFixtures / "good" / kGoodName, plugins / kGoodName);
    }
    plexus::test::CommandResult list(const std::string& env = {}) const {
        return run_plexus(
            "plugins --plugin-path '" + plugins.string() + "'",
            "PLEXUS_DEBUG_PLUGINS=1 XDG_CACHE_HOME='" + cache_home.string() + "' " + env);
    }
    std::string refusal() const {
        return crash.string() +
               ": crashed while loading (signal 11, SIGSEGV): the file is damaged; rebuild or "
               "reinstall it";
    }
};

void check_refused_and_listed(const Folder& f, const plexus::test::CommandResult& r) {
    BOOST_TEST_INFO("stderr: " << r.err);
    BOOST_TEST(r.exit_code == 0);  // plexus plugins reports plugin errors and succeeds
    BOOST_TEST(contains(r.err, "plexus: plugin error: " + f.refusal() + "\n"));
    BOOST_TEST(contains(r.out, "fixture_gain"));
}

std::string header() {
    return "plexus-plugin-scan 1 abi " + std::to_string(PLEXUS_ABI_VERSION) + " " +
           PLEXUS_BUILD_TAG + "\n";
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_plugin_that_crashes_while_loading_is_refused_and_the_rest_listed) {
    Folder f;
    const auto r = f.list();
    check_refused_and_listed(f, r);
    BOOST_TEST(contains(r.err, kStarted));
}

BOOST_AUTO_TEST_CASE(a_plugin_that_exits_or_answers_for_the_scanner_is_refused) {
    Folder f;
    const auto exits = f.list("PLEXUS_TEST_FAULT=exit");
    BOOST_TEST(contains(exits.err, f.crash.string() +
                                       ": ended the loading process (exit status 3): the file "
                                       "is damaged; rebuild or reinstall it\n"),
               exits.err);
    BOOST_TEST(contains(exits.out, "fixture_gain"));
    // Nonsense on the answer pipe is not taken for an answer.
    const auto forged = f.list("PLEXUS_TEST_FAULT=channel");
    BOOST_TEST(contains(forged.err, f.crash.string() +
                                        ": wrote into the plugin scanner's channel while "
                                        "loading: the file is damaged; rebuild or reinstall it"),
               forged.err);
    BOOST_TEST(contains(forged.out, "fixture_gain"));
    BOOST_TEST(!contains(plexus::test::read_text(f.cache_file), kCrashName));
}

BOOST_AUTO_TEST_CASE(a_plugin_that_hangs_while_loading_is_refused_after_ten_seconds) {
    Folder f;
    const auto begin = std::chrono::steady_clock::now();
    const auto r = f.list("PLEXUS_TEST_FAULT=hang");
    const auto took = std::chrono::steady_clock::now() - begin;
    BOOST_TEST(
        contains(r.err, f.crash.string() + ": hung while loading (no answer in 10 s): the file is "
                                           "damaged; rebuild or reinstall it\n"),
        r.err);
    BOOST_TEST(contains(r.out, "fixture_gain"));
    BOOST_TEST(took < std::chrono::seconds(20));
}

BOOST_AUTO_TEST_CASE(the_registry_in_any_program_scans_first) {
    // This test binary is not `plexus`: the scan forks whatever program holds the registry.
    Folder f;
    ::setenv("XDG_CACHE_HOME", f.cache_home.c_str(), 1);
    Registry r(only({f.plugins}));
    ::unsetenv("XDG_CACHE_HOME");
    BOOST_REQUIRE_EQUAL(r.errors().size(), 1u);
    BOOST_TEST(r.errors()[0].message == f.refusal());
    BOOST_TEST(r.find(plexus::Kind::layer, "fixture_gain") != nullptr);
}

BOOST_AUTO_TEST_CASE(a_warm_start_uses_the_cache_and_forks_no_scanner) {
    Folder f;
    check_refused_and_listed(f, f.list());
    // Only the good plugin's verdict is cached: the crashing one is scanned every time.
    const std::string cache = plexus::test::read_text(f.cache_file);
    BOOST_TEST(contains(cache, " " + (f.plugins / kGoodName).string() + "\n"));
    BOOST_TEST(!contains(cache, kCrashName));
    fs::remove(f.crash);
    const auto warm = f.list();
    BOOST_TEST(!contains(warm.err, kStarted), warm.err);
    BOOST_TEST(contains(warm.out, "fixture_gain"));
    // A changed file is a new candidate: a verdict holds for the file it was made for.
    fs::last_write_time(f.plugins / kGoodName, fs::file_time_type::clock::now());
    BOOST_TEST(contains(f.list().err, kStarted));
}

BOOST_AUTO_TEST_CASE(a_cache_file_with_garbage_is_ignored) {
    Folder f;
    fs::create_directories(f.cache_file.parent_path());
    struct stat st {};
    BOOST_REQUIRE(::stat(f.crash.c_str(), &st) == 0);
    const std::string path = f.crash.string();
    // Near misses of the crashing plugin's key, lines of nonsense, a cut-off last line.
    std::ofstream(f.cache_file, std::ios::binary)
        << header() << "ok -1 " << st.st_ino << " 5 6 7 " << path << "\n"
        << "ok 1 2 3 4 " << path << "\n"
        << "ok 99999999999999999999999 2 3 4 5 " << path << "\n"
        << "ok " << st.st_dev << " " << st.st_ino << " " << st.st_size << " 1 2 relative\n"
        << std::string(5000, 'x') << "\n\x01\xff garbage\n"
        << "ok " << st.st_dev << " " << st.st_ino;
    check_refused_and_listed(f, f.list());
    // Any other header (another ABI or build, or none) discards the whole file.
    std::ofstream(f.cache_file, std::ios::binary | std::ios::trunc)
        << std::string("\x7f") + "ELF\n";
    check_refused_and_listed(f, f.list());
}

BOOST_AUTO_TEST_CASE(the_cache_reader_keeps_well_formed_lines_only) {
    plexus::test::TempDir dir{"scan-cache"};
    const fs::path file = dir.path / "plugin-scan";
    std::ofstream(file) << header() << "ok 1 2 3 4 5 /a/libplexus-x.so\n"
                        << "ok 1 2 3 4 /b\n"
                        << "no 1 2 3 4 5 /c\n"
                        << "ok 1 2 3 4 5 /d/libplexus-y.so";  // no newline: cut short
    const auto keys = plexus::core::read_plugin_scan_cache(file);
    BOOST_REQUIRE_EQUAL(keys.size(), 1u);
    BOOST_TEST(keys[0] == "1 2 3 4 5 /a/libplexus-x.so");
    // A FIFO at the cache's name must not block the host.
    const fs::path fifo = dir.path / "fifo";
    BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    BOOST_TEST(plexus::core::read_plugin_scan_cache(fifo).empty());
    BOOST_TEST(plexus::core::read_plugin_scan_cache(dir.path / "missing").empty());
}

BOOST_AUTO_TEST_CASE(without_a_usable_cache_folder_the_scan_is_still_correct) {
    Folder f;
    // XDG_CACHE_HOME relative (ignored), HOME not a folder: no cache, same verdicts.
    const std::string env = "XDG_CACHE_HOME=relative HOME=/dev/null";
    const auto r = run_plexus("plugins --plugin-path '" + f.plugins.string() + "'", env);
    check_refused_and_listed(f, r);
    BOOST_TEST(!fs::exists(f.cache_file));
}
