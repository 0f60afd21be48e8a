// The plugin registry and parameter validation: every bad plugin gets its own one-line
// message and the registry keeps going with the rest.
#define BOOST_TEST_MODULE registry
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>

#include "plexus/core/registry/registry.hpp"
#include "plexus/plexus.hpp"
#include "registry_fixtures.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using plexus::Kind;
using plexus::core::Registry;
using plexus::test::contains;
using plexus::test::only;
using plexus::test::only_error;

namespace {

const fs::path kFixtures = PLEXUS_TEST_FIXTURE_DIR;
const fs::path kPlugins = PLEXUS_TEST_PLUGIN_DIR;

struct TempDir : plexus::test::TempDir {
    TempDir() : plexus::test::TempDir("registry") {}
};

template <class F>
std::string message_of(F f) {
    try {
        f();
    } catch (const plexus::Error& e) {
        return e.what();
    }
    BOOST_FAIL("expected a plexus::Error");
    return {};
}

}  // namespace

BOOST_AUTO_TEST_CASE(good_plugin_loads_and_creates) {
    Registry r(only({kFixtures / "good"}));
    BOOST_TEST(r.errors().empty());
    const auto* e = r.find(Kind::layer, "fixture_gain");
    BOOST_REQUIRE(e);
    BOOST_TEST(std::string(e->info->version) == "1.0.0");
    auto layer = r.create_as<plexus::Layer>("fixture_gain gain=2");
    BOOST_TEST(layer != nullptr);
}

BOOST_AUTO_TEST_CASE(library_without_entry_point) {
    Registry r(only({kFixtures / "noentry"}));
    const std::string m = only_error(r);
    BOOST_TEST(contains(m, "libplexus-layers-fixture_noentry.so"));
    BOOST_TEST(contains(m, "not a Plexus plugin"));
    BOOST_TEST(r.components().empty());
}

BOOST_AUTO_TEST_CASE(non_elf_file) {
    TempDir dir;
    std::ofstream(dir.path / "libplexus-layers-notes.so") << "these are notes, not a library\n";
    Registry r(only({dir.path}));
    const std::string m = only_error(r);
    BOOST_TEST(contains(m, "libplexus-layers-notes.so: not an ELF shared library"));
}

BOOST_AUTO_TEST_CASE(truncated_library) {
    TempDir dir;
    const fs::path copy = dir.path / "libplexus-layers-fixture_good.so";
    fs::copy_file(kFixtures / "good" / "libplexus-layers-fixture_good.so", copy);
    fs::resize_file(copy, fs::file_size(copy) / 2);
    Registry r(only({dir.path}));
    const std::string m = only_error(r);
    BOOST_TEST(contains(m, "is truncated"));
    BOOST_TEST(contains(m, "reinstall"));
}

BOOST_AUTO_TEST_CASE(plugin_for_another_abi) {
    Registry r(only({kFixtures / "abi"}));
    const std::string m = only_error(r);
    BOOST_TEST(contains(m, "ABI 99"));
    BOOST_TEST(contains(m, "ABI " + std::to_string(PLEXUS_ABI_VERSION)));
    BOOST_TEST(contains(m, "rebuild"));
    BOOST_TEST(r.find(Kind::layer, "fixture_gain") == nullptr);
}

BOOST_AUTO_TEST_CASE(duplicate_name_is_reported_first_wins) {
    Registry r(only({kPlugins, kFixtures / "dup"}));
    const std::string m = only_error(r);
    BOOST_TEST(contains(m, "duplicate layer 'relu'"));
    BOOST_TEST(contains(m, "libplexus-layers-relu.so"));
    const auto* relu = r.find(Kind::layer, "relu");
    BOOST_REQUIRE(relu);
    BOOST_TEST(std::string(relu->info->version) != "9.9.9");
    BOOST_TEST(r.find(Kind::layer, "dense") != nullptr);  // the rest still loads
}

BOOST_AUTO_TEST_CASE(bad_files_do_not_stop_good_ones) {
    TempDir dir;
    fs::copy_file(kFixtures / "good" / "libplexus-layers-fixture_good.so",
                  dir.path / "libplexus-layers-fixture_good.so");
    std::ofstream(dir.path / "libplexus-layers-broken.so") << "garbage";
    fs::copy_file(kFixtures / "noentry" / "libplexus-layers-fixture_noentry.so",
                  dir.path / "libplexus-layers-fixture_noentry.so");
    Registry r(only({dir.path}));
    BOOST_TEST(r.errors().size() == 2u);
    BOOST_TEST(r.find(Kind::layer, "fixture_gain") != nullptr);
}

BOOST_AUTO_TEST_CASE(world_writable_plugin_is_refused_unless_allowed) {
    TempDir dir;
    const fs::path copy = dir.path / "libplexus-layers-fixture_good.so";
    fs::copy_file(kFixtures / "good" / "libplexus-layers-fixture_good.so", copy);
    fs::permissions(copy, fs::perms::others_write, fs::perm_options::add);
    Registry refused(only({dir.path}));
    BOOST_TEST(contains(only_error(refused), "writable by others"));
    auto options = only({dir.path});
    options.allow_insecure = true;
    Registry allowed(options);
    BOOST_TEST(allowed.errors().empty());
    BOOST_TEST(allowed.find(Kind::layer, "fixture_gain") != nullptr);
}

BOOST_AUTO_TEST_CASE(unknown_parameter_lists_valid_names) {
    Registry r(only({kFixtures / "good"}));
    const std::string m = message_of([&] { r.create_as<plexus::Layer>("fixture_gain gian=2", "exp.ini:4"); });
    BOOST_TEST(m == "exp.ini:4: unknown parameter 'gian' for layer 'fixture_gain' (valid: gain) "
                    "(did you mean 'gain'?)");
}

BOOST_AUTO_TEST_CASE(wrong_type_and_out_of_range) {
    Registry r(only({kFixtures / "good"}));
    BOOST_TEST(contains(message_of([&] { r.create_as<plexus::Layer>("fixture_gain gain=abc"); }),
                        "parameter 'gain' of layer 'fixture_gain': 'abc' is not a number"));
    BOOST_TEST(contains(message_of([&] { r.create_as<plexus::Layer>("fixture_gain gain=20"); }),
                        "'20' is out of range [0, 10]"));
}

BOOST_AUTO_TEST_CASE(unknown_plugin_suggests_the_closest) {
    Registry r(only({kFixtures / "good"}));
    const std::string m = message_of([&] { r.create_as<plexus::Layer>("fixture_gian"); });
    BOOST_TEST(m == "unknown layer 'fixture_gian' (did you mean 'fixture_gain'?)");
}

BOOST_AUTO_TEST_CASE(required_and_choice_parameters) {
    Registry r(only({kPlugins}));
    BOOST_TEST(contains(message_of([&] { r.create_as<plexus::Layer>("dense"); }),
                        "missing required parameter 'units' for layer 'dense'"));
    BOOST_TEST(contains(message_of([&] { r.create_as<plexus::Layer>("dense units=3 init=he_norml"); }),
                        "(did you mean 'he_normal'?)"));
    BOOST_TEST(contains(message_of([&] { r.create_as<plexus::Layer>("dense units=2.5"); }),
                        "'2.5' is not an integer"));
}

BOOST_AUTO_TEST_CASE(spec_syntax_errors) {
    BOOST_TEST(message_of([] { plexus::core::parse_component_spec("dense units", "a.ini:3"); }) ==
               "a.ini:3: expected key=value after 'dense', found 'units'");
    const auto spec = plexus::core::parse_component_spec("  dense  units=4   init=he_normal ");
    BOOST_TEST(spec.name == "dense");
    BOOST_REQUIRE_EQUAL(spec.params.size(), 2u);
    BOOST_TEST(spec.params[1].second == "he_normal");
}

// `--device NAME:N`: the index becomes the plugin's `device` parameter; a plugin without one
// (cpu) is only NAME:0. Device plugins export an enumerator for `plexus devices`; the cpu
// plugin's lists one device, cpu:0, with the machine's cores and memory.
BOOST_AUTO_TEST_CASE(device_index_suffix_and_listers) {
    Registry r(only({kPlugins}));
    BOOST_TEST(r.create_as<plexus::Device>("cpu:0")->name() == "cpu");
    BOOST_CHECK_EXCEPTION(r.create_as<plexus::Device>("cpu:1"), plexus::PluginError,
                          [](const plexus::PluginError& e) { return contains(e.what(), "only one device, cpu:0"); });
    BOOST_CHECK_THROW(r.create_as<plexus::Device>("cpu:x"), plexus::ConfigError);
    BOOST_CHECK_THROW(r.create_as<plexus::Device>("nope:0"), plexus::PluginError);
    const auto* cpu = r.find(Kind::device, "cpu");
    BOOST_REQUIRE(cpu);
    const auto lister = r.device_lister(*cpu);
    BOOST_REQUIRE(lister);
    plexus::DeviceListing listing[2]{};
    char error[128] = "";
    BOOST_TEST(lister(listing, 2, error, sizeof error) == 1);
    BOOST_TEST(std::string(listing[0].spec) == "cpu:0");
    BOOST_TEST(std::string(listing[0].type) == "cpu");
    BOOST_TEST(listing[0].compute_units >= 1u);
    BOOST_TEST(listing[0].memory_bytes > (std::uint64_t{1} << 26));  // some 64 MiB at least
    if (const auto* opencl = r.find(Kind::device, "opencl")) BOOST_TEST(r.device_lister(*opencl));
}
