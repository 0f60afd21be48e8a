// The plugin catalog: what each plugin file's manifest declared (kinds, names, versions,
// summaries, parameter specs), kept next to the scan cache so a warm start lists and validates
// components without loading a single library. A library is loaded when one of its components
// is first created (GStreamer's registry does the same with its plugin features).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "plexus/plugin.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

struct CatalogParam {
    std::string name;
    ParamType type = ParamType::string;
    bool required = false;  // no default value
    std::string default_value;
    double min = 0, max = 0;
    std::string choices;
    std::string doc;
    std::uint32_t flags = 0;
};

struct CatalogComponent {
    Kind kind = Kind::layer;
    std::string name, version, summary;
    std::vector<CatalogParam> params;
};

/// A file's components, by its scan key (plugin_scan_key: path, device, inode, size, mtime,
/// ctime): an entry describes exactly the file the scanner vetted and the host loaded.
using PluginCatalog = std::map<std::string, std::vector<CatalogComponent>>;

/// The catalog of the plugin folder `folder` (its real path): one file per folder, so a start
/// reads the entries of the folders it searches and no others, however many build trees and
/// installs this user's cache has seen. $XDG_CACHE_HOME/plexus/plugin-catalogs/HASH.json
/// (cache_name_hash of the path); empty when there is no cache folder.
std::filesystem::path plugin_catalog_file(const std::filesystem::path& folder);

/// What a loaded component declares, copied.
CatalogComponent catalog_component(const ComponentInfo& info);

/// Whether a loaded component declares exactly what the catalog says (every field).
bool same_component(const CatalogComponent& entry, const ComponentInfo& info);

/// The catalog of `folder` held in `file`, read as hostile input: at most 4 MiB, a header
/// naming this host's ABI and build tag and `folder`, bounded counts and lengths, known kinds
/// and types. Anything else gives an empty catalog (the registry then loads every file of the
/// folder, as on a first start).
PluginCatalog read_plugin_catalog(const std::filesystem::path& file,
                                  const std::filesystem::path& folder);

/// Writes `folder`'s catalog atomically (the cache folder created), dropping entries of files
/// that no longer exist, and removes the catalogs of folders that no longer exist. Failing to
/// write is ignored: the next start loads the libraries again.
void write_plugin_catalog(const std::filesystem::path& file, const std::filesystem::path& folder,
                          const PluginCatalog& catalog);

/// A component's ComponentInfo built from a catalog entry, owning its strings. Its `create` is
/// null: the registry loads the library before anything is created.
class CatalogInfo {
public:
    explicit CatalogInfo(CatalogComponent component);
    CatalogInfo(const CatalogInfo&) = delete;
    CatalogInfo& operator=(const CatalogInfo&) = delete;

    const ComponentInfo& info() const { return info_; }
    const CatalogComponent& component() const { return component_; }

private:
    CatalogComponent component_;
    std::vector<ParamSpec> specs_;
    ComponentInfo info_{};
};

}  // namespace plexus::core

#pragma GCC visibility pop
