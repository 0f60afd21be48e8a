// The plugin registry: discovers plugin libraries on the search path, checks and loads them,
// validates parameters and creates components.
#pragma once

#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plexus/core/registry/plugin_catalog.hpp"
#include "plexus/plugin.hpp"

struct stat;  // <sys/stat.h>

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// "dense units=256 init=he_normal" split into a name and key=value pairs.
struct ComponentSpec {
    std::string name;
    std::vector<std::pair<std::string, std::string>> params;
    std::string where;  // "file:line" or "--set ..." for messages; may be empty
};

/// Parses a spec line; throws ConfigError prefixed with `where` on a malformed pair.
ComponentSpec parse_component_spec(std::string_view text, const std::string& where = {});

struct RegistryOptions {
    std::vector<std::filesystem::path> plugin_paths;  // --plugin-path, searched first
    bool use_environment = true;                      // PLEXUS_PLUGIN_PATH
    bool use_defaults = true;     // <exe dir>/../lib/plexus/plugins, else the build tree's
    bool allow_insecure = false;  // accept files or folders writable by others
};

struct ComponentEntry {
    /// What the plugin declares: its own manifest entry, or the catalog's copy of it (with a
    /// null `create`) while its library is not loaded; Registry::create loads it.
    const ComponentInfo* info = nullptr;
    std::filesystem::path library;
};

struct LoadError {
    std::filesystem::path path;
    std::string message;  // one line, already naming the file and the fix
};

class Registry {
public:
    explicit Registry(RegistryOptions options = {});
    ~Registry();
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    /// The folders searched, in order (existing or not).
    const std::vector<std::filesystem::path>& search_path() const { return search_path_; }
    /// Every component loaded, in discovery order.
    const std::vector<ComponentEntry>& components() const { return components_; }
    /// One entry per file that was refused or failed to load, or duplicate component.
    const std::vector<LoadError>& errors() const { return errors_; }

    const ComponentEntry* find(Kind kind, std::string_view name) const;
    /// Like find, but throws PluginError "unknown layer 'dens' (did you mean 'dense'?)".
    const ComponentEntry& require(Kind kind, std::string_view name,
                                  const std::string& where = {}) const;
    /// Any kind with this name, for `plexus plugins NAME`.
    std::vector<const ComponentEntry*> find_any(std::string_view name) const;

    /// Checks `spec` against the entry's ParamSpecs and fills defaults; throws ParamError.
    static Params validate(const ComponentEntry& entry, const ComponentSpec& spec);

    /// The enumerator a device plugin's library exports with PLEXUS_DEVICE_LIST, or nullptr
    /// when it has none (it is then one device, made from its default parameters).
    ListDevicesFn device_lister(const ComponentEntry& entry) const;

    /// Creates a component; the returned pointer is the kind's interface and keeps the
    /// library loaded. Throws PluginError or ParamError. A device may be named "NAME:N"
    /// (`--device opencl:1`): that is "NAME device=N", and "NAME:0" is NAME itself for a
    /// device plugin without a `device` parameter (e.g. "cpu:0").
    std::shared_ptr<void> create(Kind kind, const ComponentSpec& spec) const;
    template <class T>
    std::shared_ptr<T> create_as(const ComponentSpec& spec) const {
        auto p = create(T::kKind, spec);
        return std::shared_ptr<T>(p, static_cast<T*>(p.get()));
    }
    template <class T>
    std::shared_ptr<T> create_as(std::string_view text, const std::string& where = {}) const {
        return create_as<T>(parse_component_spec(text, where));
    }

private:
    struct Library;
    /// One plugin folder's catalog (plugin_catalog_file).
    struct FolderCatalog {
        std::filesystem::path file;  // empty when there is no cache folder
        PluginCatalog entries;       // as read at start
        bool changed = false;        // files loaded that it lacked
    };
    void scan_folder(const std::filesystem::path& folder);
    /// Why `file` (lstat into `st`) cannot be a plugin, judged without loading it, or empty.
    std::string check_file(const std::filesystem::path& file, struct stat& st) const;
    /// Loads a file that passed check_file and the plugin scanner; catalogues it under `key`.
    void load_file(const std::filesystem::path& file, const std::string& key,
                   FolderCatalog& catalog);
    /// Adds a vetted file's components from the catalog; its library loads on first use.
    void add_catalogued(const std::filesystem::path& file, const std::string& key,
                        const std::vector<CatalogComponent>& components,
                        const std::filesystem::path& catalog_file);
    /// Adds `info` unless its kind and name are taken; false then (the error is recorded).
    bool add_component(const ComponentInfo& info, const std::filesystem::path& file);
    /// The library of `entry`, loaded now if the catalog stood in for it; throws PluginError.
    Library& loaded_library(const ComponentEntry& entry) const;
    void refuse(const std::filesystem::path& file, const std::string& why);

    RegistryOptions options_;
    std::vector<std::filesystem::path> search_path_;
    std::vector<std::shared_ptr<Library>> libraries_;
    std::vector<ComponentEntry> components_;
    std::vector<LoadError> errors_;
    std::map<std::filesystem::path, FolderCatalog> catalogs_;  // by real folder; never moved
    std::deque<CatalogInfo> catalog_infos_;  // stand-ins until a library loads (never moved)
    mutable std::mutex load_mutex_;
    bool debug_ = false;
};

/// Formats a ParamSpec's range or choices for help text: "[0, 1)", "he_normal|glorot_uniform".
std::string describe_range(const ParamSpec& spec);

}  // namespace plexus::core

#pragma GCC visibility pop
