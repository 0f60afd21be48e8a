#include "plexus/core/registry/search_path.hpp"

#include <boost/dll/runtime_symbol_info.hpp>
#include <cstdlib>
#include <string>

#include "plexus/core/registry/plugin_trust.hpp"
#include "plexus/support/text.hpp"

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

constexpr std::size_t kMaxShown = 200;  // of an entry, in a message

#ifdef PLEXUS_BUILD_PLUGIN_DIR
/// True when `exe` lies inside the build tree that holds PLEXUS_BUILD_PLUGIN_DIR
/// (<build>/lib/plexus/plugins).
bool inside_build_tree(const fs::path& exe) {
    std::error_code ec;
    const fs::path build =
        fs::weakly_canonical(fs::path(PLEXUS_BUILD_PLUGIN_DIR) / ".." / ".." / "..", ec);
    if (ec) return false;
    const fs::path real = fs::weakly_canonical(exe, ec);
    if (ec) return false;
    auto b = build.begin(), r = real.begin();
    for (; b != build.end() && !b->empty(); ++b, ++r)
        if (r == real.end() || *r != *b) return false;
    return true;
}
#endif

}  // namespace

std::vector<fs::path> plugin_search_path(const RegistryOptions& options,
                                         std::vector<LoadError>& errors) {
    std::vector<fs::path> path(options.plugin_paths.begin(), options.plugin_paths.end());
    if (options.use_environment) {
        if (const char* env = std::getenv("PLEXUS_PLUGIN_PATH"))
            for (const auto& entry : support::split(env, ':')) {
                if (entry.empty()) continue;
                if (fs::path(entry).is_relative()) {
                    const std::string shown =
                        entry.size() > kMaxShown ? entry.substr(0, kMaxShown) + "..." : entry;
                    errors.push_back({entry, "PLEXUS_PLUGIN_PATH entry " + shell_word(shown) +
                                                 " is relative, so it would name another "
                                                 "folder in every working directory; not "
                                                 "searched (give it as an absolute path)"});
                    continue;
                }
                path.emplace_back(entry);
            }
    }
    if (options.use_defaults) {
        boost::dll::fs::error_code ec;
        const fs::path exe = boost::dll::program_location(ec);
        if (ec) return path;
        const fs::path installed = exe.parent_path() / ".." / "lib" / "plexus" / "plugins";
        path.push_back(installed);
#ifdef PLEXUS_BUILD_PLUGIN_DIR
        std::error_code exists_ec;
        if (!fs::is_directory(installed, exists_ec) && inside_build_tree(exe))
            path.emplace_back(PLEXUS_BUILD_PLUGIN_DIR);
#endif
    }
    return path;
}

}  // namespace plexus::core
