// Plugin folder trust (OpenSSH's StrictModes): a plugin loads only when it and every folder
// above it belong to root or the user running plexus and nobody else can write to them (a
// sticky folder such as /tmp may be writable above the plugin folder, never as it). Each
// refusal is one line naming the folder and the fix; --allow-insecure-plugins overrides.
// A relative PLEXUS_PLUGIN_PATH entry is never searched. The tests run as root, so the
// "another user" cases chown to uid 65534 (nobody); they are skipped for other users.
#define BOOST_TEST_MODULE plugin_trust
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>

#include "plexus/core/registry/registry.hpp"
#include "plexus/plexus.hpp"
#include "registry_fixtures.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
namespace utf = boost::unit_test;
using plexus::Kind;
using plexus::core::Registry;
using plexus::test::contains;
using plexus::test::only;
using plexus::test::only_error;

namespace {

const fs::path kGood =
    fs::path(PLEXUS_TEST_FIXTURE_DIR) / "good" / "libplexus-layers-fixture_good.so";
constexpr uid_t kOtherUser = 65534;

/// <temp>/<above>/plugins holding a copy of the good fixture, all mode 0755 / 0644.
struct PluginTree {
    plexus::test::TempDir root{"trust"};
    fs::path above = root.path / "above";
    fs::path folder = above / "plugins";
    fs::path file = folder / "libplexus-layers-fixture_good.so";
    PluginTree() {
        fs::create_directories(folder);
        fs::copy_file(kGood, file);
        ::chmod(above.c_str(), 0755);
        ::chmod(folder.c_str(), 0755);
        ::chmod(file.c_str(), 0644);
    }
    bool loads() const {
        Registry r(only({folder}));
        return r.errors().empty() && r.find(Kind::layer, "fixture_gain") != nullptr;
    }
    std::string refusal() const { return only_error(Registry(only({folder}))); }
    bool loads_when_allowed() const {
        auto options = only({folder});
        options.allow_insecure = true;
        Registry r(options);
        return r.errors().empty() && r.find(Kind::layer, "fixture_gain") != nullptr;
    }
};

struct RunningAsRoot {
    utf::assertion_result operator()(utf::test_unit_id) {
        return utf::assertion_result(::geteuid() == 0);
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_private_tree_under_the_sticky_temp_folder_loads) {
    PluginTree tree;
    BOOST_TEST(tree.loads());
}

BOOST_AUTO_TEST_CASE(a_group_writable_plugin_folder_is_refused) {
    PluginTree tree;
    ::chmod(tree.folder.c_str(), 0775);
    const std::string m = tree.refusal();
    BOOST_TEST(contains(m, tree.folder.string() + ": plugin folder is writable by its group"));
    BOOST_TEST(
        contains(m, "(chmod g-w " + tree.folder.string() + ", or pass --allow-insecure-plugins)"));
    BOOST_TEST(tree.loads_when_allowed());
}

BOOST_AUTO_TEST_CASE(a_sticky_world_writable_plugin_folder_is_refused) {
    PluginTree tree;
    ::chmod(tree.folder.c_str(), 01777);
    BOOST_TEST(contains(tree.refusal(), "plugin folder is writable by others"));
}

BOOST_AUTO_TEST_CASE(a_group_writable_plugin_file_is_refused) {
    PluginTree tree;
    ::chmod(tree.file.c_str(), 0664);
    const std::string m = tree.refusal();
    BOOST_TEST(contains(m, tree.file.string() + ": writable by its group; refusing to load it"));
    BOOST_TEST(contains(m, "chmod g-w " + tree.file.string()));
    BOOST_TEST(tree.loads_when_allowed());
}

BOOST_AUTO_TEST_CASE(a_folder_under_a_world_writable_non_sticky_folder_is_refused) {
    PluginTree tree;
    ::chmod(tree.above.c_str(), 0777);
    const std::string m = tree.refusal();
    BOOST_TEST(contains(m, "plugin folder lies under " + tree.above.string() +
                               ", which is writable by others and not sticky"));
    BOOST_TEST(contains(m, "chmod go-w " + tree.above.string()));
    BOOST_TEST(tree.loads_when_allowed());
    ::chmod(tree.above.c_str(), 01777);  // sticky, like /tmp: nobody else can swap `plugins`
    BOOST_TEST(tree.loads());
}

BOOST_AUTO_TEST_CASE(a_folder_under_a_group_writable_folder_is_refused) {
    PluginTree tree;
    ::chmod(tree.above.c_str(), 0775);
    BOOST_TEST(contains(tree.refusal(), "which is writable by its group and not sticky"));
}

BOOST_AUTO_TEST_CASE(a_plugin_folder_of_another_user_is_refused,
                     *utf::precondition(RunningAsRoot())) {
    PluginTree tree;
    BOOST_TEST_REQUIRE(::chown(tree.folder.c_str(), kOtherUser, 0) == 0);
    const std::string m = tree.refusal();
    BOOST_TEST(contains(m, tree.folder.string() + ": plugin folder is owned by uid 65534"));
    BOOST_TEST(contains(m, "chown root " + tree.folder.string()));
    BOOST_TEST(tree.loads_when_allowed());
}

BOOST_AUTO_TEST_CASE(a_folder_under_a_folder_of_another_user_is_refused,
                     *utf::precondition(RunningAsRoot())) {
    PluginTree tree;
    BOOST_TEST_REQUIRE(::chown(tree.above.c_str(), kOtherUser, 0) == 0);
    BOOST_TEST(contains(tree.refusal(), "plugin folder lies under " + tree.above.string() +
                                            ", owned by uid 65534"));
}

BOOST_AUTO_TEST_CASE(a_plugin_file_of_another_user_is_refused,
                     *utf::precondition(RunningAsRoot())) {
    PluginTree tree;
    BOOST_TEST_REQUIRE(::chown(tree.file.c_str(), kOtherUser, 0) == 0);
    BOOST_TEST(contains(tree.refusal(), tree.file.string() + ": owned by uid 65534"));
}

BOOST_AUTO_TEST_CASE(a_link_to_a_trusted_folder_is_checked_and_loaded_through_its_target) {
    PluginTree tree;
    const fs::path link = tree.root.path / "link";
    fs::create_directory_symlink(tree.folder, link);
    Registry r(only({link}));
    BOOST_TEST(r.errors().empty());
    const auto* e = r.find(Kind::layer, "fixture_gain");
    BOOST_REQUIRE(e);
    BOOST_TEST(e->library == fs::canonical(tree.file));
}

BOOST_AUTO_TEST_CASE(a_relative_plexus_plugin_path_entry_is_not_searched) {
    PluginTree tree;
    const fs::path cwd = fs::current_path();
    fs::current_path(tree.above);  // where "plugins" would resolve, were it searched
    ::setenv("PLEXUS_PLUGIN_PATH", "plugins", 1);
    auto options = only({});
    options.use_environment = true;
    Registry r(options);
    ::unsetenv("PLEXUS_PLUGIN_PATH");
    fs::current_path(cwd);
    const std::string m = only_error(r);
    BOOST_TEST(m ==
               "PLEXUS_PLUGIN_PATH entry plugins is relative, so it would name another "
               "folder in every working directory; not searched (give it as an absolute path)");
    BOOST_TEST(r.components().empty());
    BOOST_TEST(r.search_path().empty());
}

BOOST_AUTO_TEST_CASE(an_absolute_plexus_plugin_path_entry_is_searched) {
    PluginTree tree;
    ::setenv("PLEXUS_PLUGIN_PATH", tree.folder.c_str(), 1);
    auto options = only({});
    options.use_environment = true;
    Registry r(options);
    ::unsetenv("PLEXUS_PLUGIN_PATH");
    BOOST_TEST(r.errors().empty());
    BOOST_TEST(r.find(Kind::layer, "fixture_gain") != nullptr);
}
