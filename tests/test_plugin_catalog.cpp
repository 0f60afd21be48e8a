// The plugin catalog: a warm start lists and validates components from what the libraries
// declared last time and loads a library only when one of its components is made; a catalog
// that lies, a file changed since the start and a damaged catalog are caught, never trusted.
#define BOOST_TEST_MODULE plugin_catalog
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli.hpp"
#include "plexus/core/registry/plugin_catalog.hpp"
#include "plexus/core/registry/registry.hpp"
#include "plexus/plexus.hpp"
#include "registry_fixtures.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using plexus::Kind;
using plexus::core::Registry;
using plexus::test::contains;
using plexus::test::only;

namespace {

const fs::path kFixtures = PLEXUS_TEST_FIXTURE_DIR;

/// A plugin folder with one fixture copied in, and a cache folder (XDG_CACHE_HOME) for it.
struct Folder {
    plexus::test::TempDir dir{"catalog"};
    fs::path plugins = dir.path / "plugins";
    fs::path cache_home = dir.path / "cache";
    fs::path catalog;  // the folder's own (plugin_catalog_file)
    fs::path file;
    explicit Folder(const std::string& fixture = "good",
                    const std::string& name = "libplexus-layers-fixture_good.so") {
        fs::create_directories(plugins);
        file = plugins / name;
        fs::copy_file(kFixtures / fixture / name, file);
        ::setenv("XDG_CACHE_HOME", cache_home.c_str(), 1);
        catalog = plexus::core::plugin_catalog_file(fs::canonical(plugins));
        ::unsetenv("XDG_CACHE_HOME");
    }
    /// A registry over the folder, with the cache folder as XDG_CACHE_HOME while it is built.
    std::unique_ptr<Registry> registry() const {
        ::setenv("XDG_CACHE_HOME", cache_home.c_str(), 1);
        auto r = std::make_unique<Registry>(only({plugins}));
        ::unsetenv("XDG_CACHE_HOME");
        return r;
    }
    plexus::test::CommandResult list(const std::string& args = {},
                                     const std::string& env = {}) const {
        return plexus::test::run_plexus(
            "plugins " + args + " --plugin-path '" + plugins.string() + "'",
            "PLEXUS_DEBUG_PLUGINS=1 XDG_CACHE_HOME='" + cache_home.string() + "' " + env);
    }
};

std::string read(const fs::path& p) {
    return plexus::test::read_text(p);
}

void write(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

void replace_once(std::string& text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    BOOST_TEST_REQUIRE(at != std::string::npos, "'" << from << "' not in " << text);
    text.replace(at, from.size(), to);
}

}  // namespace

// Runs first in this process, so nothing has loaded the marker fixture yet.
BOOST_AUTO_TEST_CASE(a_warm_start_loads_a_library_only_when_a_component_is_made) {
    Folder f("marker", "libplexus-layers-fixture_marker.so");
    const fs::path marker = f.dir.path / "constructor-ran";
    // Cold: the scanner and the host load the library; the catalog is written.
    const auto cold = f.list("", "PLEXUS_TEST_MARKER='" + marker.string() + "'");
    BOOST_TEST_REQUIRE(cold.exit_code == 0, cold.err);
    BOOST_TEST(fs::exists(marker));
    BOOST_TEST(contains(read(f.catalog), "\"fixture_gain\""));
    fs::remove(marker);
    // Warm: listed, and its parameters shown, without running a line of the plugin.
    const auto warm = f.list("", "PLEXUS_TEST_MARKER='" + marker.string() + "'");
    BOOST_TEST(warm.exit_code == 0, warm.err);
    BOOST_TEST(contains(warm.out, "fixture_gain"));
    BOOST_TEST(contains(warm.err, "from the catalog, 1 component(s)"), warm.err);
    const auto help = f.list("fixture_gain", "PLEXUS_TEST_MARKER='" + marker.string() + "'");
    BOOST_TEST(contains(help.out, "multiplies the input"), help.out);
    BOOST_TEST(contains(help.out, "range [0, 10]"), help.out);
    BOOST_TEST(!fs::exists(marker));
    // In this process: the stand-in validates, and making the layer loads the library.
    ::setenv("PLEXUS_TEST_MARKER", marker.c_str(), 1);
    const auto r = f.registry();
    const auto* entry = r->find(Kind::layer, "fixture_gain");
    BOOST_TEST_REQUIRE(entry != nullptr);
    BOOST_TEST(entry->info->create == nullptr);  // the catalog's copy
    BOOST_CHECK_THROW(r->create_as<plexus::Layer>("fixture_gain gain=11"), plexus::ParamError);
    BOOST_TEST(!fs::exists(marker));
    BOOST_TEST(r->create_as<plexus::Layer>("fixture_gain gain=2") != nullptr);
    BOOST_TEST(fs::exists(marker));
    ::unsetenv("PLEXUS_TEST_MARKER");
}

// Every in-tree component survives the trip through the catalog field for field (bounds that
// are infinite, reals, choices, required parameters), and the warm registry makes each kind.
BOOST_AUTO_TEST_CASE(every_in_tree_component_reads_back_as_declared) {
    plexus::test::TempDir dir{"catalog-tree"};
    ::setenv("XDG_CACHE_HOME", dir.path.c_str(), 1);
    const Registry cold;
    const Registry warm;
    ::unsetenv("XDG_CACHE_HOME");
    BOOST_TEST_REQUIRE(warm.components().size() == cold.components().size());
    BOOST_TEST_REQUIRE(cold.components().size() > 30u);
    std::size_t stand_ins = 0;
    for (const auto& c : cold.components()) {
        const auto* w = warm.find(c.info->kind, c.info->name);
        BOOST_TEST_REQUIRE(w != nullptr, c.info->name);
        BOOST_TEST(w->info->create == nullptr, c.info->name);
        stand_ins += w->info->create == nullptr;
        BOOST_TEST(plexus::core::same_component(plexus::core::catalog_component(*w->info), *c.info),
                   c.info->name);
    }
    BOOST_TEST(stand_ins == cold.components().size());
    BOOST_TEST(warm.create_as<plexus::Layer>("dense units=3") != nullptr);
    BOOST_TEST(warm.create_as<plexus::Optimizer>("adam lr=0.01") != nullptr);
    BOOST_TEST(warm.create_as<plexus::Device>("cpu") != nullptr);
}

// A catalog edited to promise another default is refused when the library loads (its
// parameters were validated against the promise), the catalog removed, and the next start
// is right again.
BOOST_AUTO_TEST_CASE(a_catalog_that_lies_is_caught_when_the_library_loads) {
    Folder f;
    f.registry();  // cold: writes the catalog
    std::string text = read(f.catalog);
    replace_once(text, "\"default\":\"1.0\"", "\"default\":\"7.5\"");
    write(f.catalog, text);
    const auto lied = f.registry();
    const auto* entry = lied->find(Kind::layer, "fixture_gain");
    BOOST_TEST_REQUIRE(entry != nullptr);
    BOOST_TEST(std::string(entry->info->params[0].default_value) == "7.5");
    try {
        lied->create_as<plexus::Layer>("fixture_gain");
        BOOST_FAIL("a lying catalog was trusted");
    } catch (const plexus::PluginError& e) {
        const std::string m = e.what();
        BOOST_TEST(contains(m, f.file.string() +
                                   ": layer 'fixture_gain' differs from the plugin "
                                   "catalog " +
                                   f.catalog.string() + " (now removed)"),
                   m);
        BOOST_TEST(!contains(m, "\n"));
    }
    BOOST_TEST(!fs::exists(f.catalog));
    const auto again = f.registry();
    BOOST_TEST(
        std::string(again->find(Kind::layer, "fixture_gain")->info->params[0].default_value) ==
        "1.0");
    BOOST_TEST(fs::exists(f.catalog));
}

// One catalog per plugin folder: a start reads those of the folders it searches, each names
// its folder (a catalog under another folder's name is ignored), and the single catalog of
// every folder that earlier versions kept is removed when one is written.
BOOST_AUTO_TEST_CASE(each_plugin_folder_has_its_own_catalog) {
    Folder a, b;
    fs::create_directories(a.cache_home / "plexus");
    write(a.cache_home / "plexus" / "plugin-catalog", "{}");  // an earlier version's
    BOOST_TEST_REQUIRE(a.catalog != b.catalog);
    BOOST_TEST(a.catalog.parent_path() == a.cache_home / "plexus" / "plugin-catalogs");
    // Both folders with a's cache: two catalogs, each listing its own folder's file only.
    ::setenv("XDG_CACHE_HOME", a.cache_home.c_str(), 1);
    const fs::path b_catalog = plexus::core::plugin_catalog_file(fs::canonical(b.plugins));
    const auto both = [&] {
        ::setenv("XDG_CACHE_HOME", a.cache_home.c_str(), 1);
        auto r = std::make_unique<Registry>(only({a.plugins, b.plugins}));
        ::unsetenv("XDG_CACHE_HOME");
        return r;
    };
    both();
    BOOST_TEST(!fs::exists(a.cache_home / "plexus" / "plugin-catalog"));
    const std::string a_text = read(a.catalog), b_text = read(b_catalog);
    BOOST_TEST(contains(a_text, a.file.string()));
    BOOST_TEST(!contains(a_text, b.file.string()));
    BOOST_TEST(contains(b_text, b.file.string()));
    BOOST_TEST(!contains(b_text, a.file.string()));
    // Warm: both from their catalogs (the duplicate component is the second folder's error).
    const auto warm = both();
    BOOST_TEST(warm->find(Kind::layer, "fixture_gain")->info->create == nullptr);
    BOOST_TEST(warm->find(Kind::layer, "fixture_gain")->library == a.file);
    // A catalog whose folder is gone is removed when another catalog is written; one that
    // does not name its folder too; those of folders that exist stay.
    {
        Folder gone;
        gone.registry();  // its own cache; copy its catalog into a's
        const fs::path gone_catalog = a.catalog.parent_path() / gone.catalog.filename();
        fs::copy_file(gone.catalog, gone_catalog);
        const fs::path nameless = a.catalog.parent_path() / "0123456789abcdef.json";
        write(nameless, "{}");
        const fs::path theirs = a.catalog.parent_path() / ".0123456789abcdef.json.tmp1";
        write(theirs, "{}");  // another process's file being written
        fs::remove_all(gone.plugins);
        Folder c("good", "libplexus-layers-fixture_good.so");
        ::setenv("XDG_CACHE_HOME", a.cache_home.c_str(), 1);
        const fs::path c_catalog = plexus::core::plugin_catalog_file(fs::canonical(c.plugins));
        const Registry written(only({c.plugins}));  // writes c's catalog
        ::unsetenv("XDG_CACHE_HOME");
        BOOST_TEST(fs::exists(c_catalog));
        BOOST_TEST(!fs::exists(gone_catalog));
        BOOST_TEST(!fs::exists(nameless));
        BOOST_TEST(fs::exists(theirs));
        BOOST_TEST(fs::exists(a.catalog));
        BOOST_TEST(fs::exists(b_catalog));
    }
    // a's catalog under b's name stands in for nothing of b's: b's library is loaded and
    // its catalog rewritten.
    fs::copy_file(a.catalog, b_catalog, fs::copy_options::overwrite_existing);
    ::setenv("XDG_CACHE_HOME", a.cache_home.c_str(), 1);
    const Registry only_b(only({b.plugins}));
    ::unsetenv("XDG_CACHE_HOME");
    BOOST_TEST(only_b.find(Kind::layer, "fixture_gain")->info->create != nullptr);
    BOOST_TEST(contains(read(b_catalog), b.file.string()));
}

// The catalog describes the file the scanner vetted: a file changed after the start is not
// loaded unvetted; a file changed before it is a new candidate, scanned and catalogued anew.
BOOST_AUTO_TEST_CASE(a_plugin_changed_after_the_start_is_not_loaded) {
    Folder f;
    f.registry();
    const auto warm = f.registry();
    BOOST_TEST_REQUIRE(warm->find(Kind::layer, "fixture_gain")->info->create == nullptr);
    fs::last_write_time(f.file, fs::file_time_type::clock::now() + std::chrono::seconds(5));
    BOOST_CHECK_EXCEPTION(warm->create_as<plexus::Layer>("fixture_gain"), plexus::PluginError,
                          [&](const plexus::PluginError& e) {
                              return std::string(e.what()) ==
                                     f.file.string() +
                                         ": plugin file changed since plexus started; run the "
                                         "command again";
                          });
    const auto next = f.registry();
    BOOST_TEST(next->find(Kind::layer, "fixture_gain")->info->create != nullptr);  // loaded
    BOOST_TEST(next->create_as<plexus::Layer>("fixture_gain") != nullptr);
    // The new version replaced the old one in the catalog: one entry for the path.
    const std::string text = read(f.catalog);
    BOOST_TEST(text.find(f.file.string()) == text.rfind(f.file.string()), text);
}

// Damaged catalogs of every kind are ignored as a whole: the registry loads the libraries as
// on a first start and lists the same components.
BOOST_AUTO_TEST_CASE(a_damaged_catalog_is_ignored) {
    Folder f;
    f.registry();
    const std::string good = read(f.catalog);
    BOOST_TEST_REQUIRE(!plexus::core::read_plugin_catalog(f.catalog, fs::canonical(f.plugins)).empty());
    auto edited = [&](const std::string& from, const std::string& to) {
        std::string t = good;
        replace_once(t, from, to);
        return t;
    };
    const std::vector<std::string> damaged = {
        "",
        "garbage\x01\xff",
        good.substr(0, good.size() / 2),                // cut short
        std::string(100, '[') + std::string(100, ']'),  // nested past any depth it writes
        edited("\"plexus-plugin-catalog\":1", "\"plexus-plugin-catalog\":2"),
        edited("\"abi\":", "\"abi\":1"),  // another ABI
        edited("\"folder\":\"", "\"folder\":\"/elsewhere"),  // another folder's
        edited("\"kind\":\"layer\"", "\"kind\":\"gadget\""),
        edited("\"type\":\"real\"", "\"type\":\"complex\""),
        edited("\"flags\":0", "\"flags\":4"),
        edited("\"flags\":0", "\"flags\":-1"),
        edited("\"min\":0.0", "\"min\":\"zero\""),
        edited("\"min\":0.0", "\"min\":1e999"),
        edited("\"name\":\"fixture_gain\"", "\"name\":\"\""),
        edited("\"name\":\"fixture_gain\"", "\"name\":\"fix\\u0000\""),
        edited("\"name\":\"fixture_gain\"", "\"name\":7"),
        edited("\"components\":[", "\"components\":{\"a\":1},\"x\":["),
        edited("\"files\":[", "\"files\":[1,"),
        good + good,
    };
    for (std::size_t i = 0; i < damaged.size(); ++i) {
        BOOST_TEST_CONTEXT("damaged catalog #" << i) {
            write(f.catalog, damaged[i]);
            BOOST_TEST(plexus::core::read_plugin_catalog(f.catalog, fs::canonical(f.plugins)).empty());
            const auto r = f.registry();
            BOOST_TEST(r->errors().empty());
            const auto* entry = r->find(Kind::layer, "fixture_gain");
            BOOST_TEST_REQUIRE(entry != nullptr);
            BOOST_TEST(entry->info->create != nullptr);  // loaded, not taken from the catalog
        }
    }
    // Larger than 4 MiB: not read at all.
    write(f.catalog, good.substr(0, good.size() - 3) + std::string(5 << 20, ' ') + "]}\n");
    BOOST_TEST(plexus::core::read_plugin_catalog(f.catalog, fs::canonical(f.plugins)).empty());
    // A folder or a FIFO at its name neither hangs nor stops the registry.
    fs::remove(f.catalog);
    BOOST_TEST_REQUIRE(::mkfifo(f.catalog.c_str(), 0600) == 0);
    BOOST_TEST(plexus::core::read_plugin_catalog(f.catalog, fs::canonical(f.plugins)).empty());
    BOOST_TEST(f.registry()->find(Kind::layer, "fixture_gain") != nullptr);
}
