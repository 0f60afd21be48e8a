#include "plexus/core/registry/registry.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <set>

#include "plexus/core/registry/elf_check.hpp"
#include "plexus/core/registry/manifest_check.hpp"
#include "plexus/core/registry/plugin_scan.hpp"
#include "plexus/core/registry/plugin_trust.hpp"
#include "plexus/core/registry/search_path.hpp"
#include "plexus/plexus.hpp"
#include "plexus/support/text.hpp"

namespace fs = std::filesystem;

namespace plexus::core {

struct Registry::Library {
    boost::dll::shared_library lib;  // not loaded while the catalog stands in for it
    fs::path path;
    std::string key;  // plugin_scan_key when it was vetted
    const std::vector<CatalogComponent>* catalogued = nullptr;  // what the catalog promised
    fs::path catalog_file;                                      // which catalog promised it
    const Manifest* manifest = nullptr;                         // once loaded
    std::string failed;                                         // why a first-use load failed

    /// Loads the file and checks its manifest; why it cannot be used, or empty.
    std::string load();
};

namespace {

// Libraries are never unloaded: objects, vtables and static strings of a plugin may be
// referenced until the process exits, and dlclose at exit races with static destructors.
std::vector<std::shared_ptr<void>>& keep_alive() {
    static auto* libs = new std::vector<std::shared_ptr<void>>();
    return *libs;
}

std::string prefix(const std::string& where) {
    return where.empty() ? "" : where + ": ";
}

void destroy(Kind kind, void* object) {
    switch (kind) {
        case Kind::layer:
            delete static_cast<Layer*>(object);
            break;
        case Kind::optimizer:
            delete static_cast<Optimizer*>(object);
            break;
        case Kind::loss:
            delete static_cast<Loss*>(object);
            break;
        case Kind::metric:
            delete static_cast<Metric*>(object);
            break;
        case Kind::callback:
            delete static_cast<Callback*>(object);
            break;
        case Kind::device:
            delete static_cast<Device*>(object);
            break;
        case Kind::transform:
            delete static_cast<Transform*>(object);
            break;
        case Kind::sampler:
            delete static_cast<Sampler*>(object);
            break;
        case Kind::pruner:
            delete static_cast<Pruner*>(object);
            break;
        default:
            break;  // kinds without an interface yet are never created
    }
}

bool has_interface(Kind kind) {
    return kind == Kind::layer || kind == Kind::optimizer || kind == Kind::loss ||
           kind == Kind::metric || kind == Kind::callback || kind == Kind::device ||
           kind == Kind::transform || kind == Kind::sampler || kind == Kind::pruner;
}

bool parse_double(const std::string& s, double& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && std::isfinite(out);
}

std::string format_number(double v) {
    return fmt::format("{:g}", v);
}

/// Why a plugin with this manifest head cannot be used by this host, or empty.
std::string manifest_mismatch(const ManifestHead& head) {
    if (head.abi_version != PLEXUS_ABI_VERSION)
        return "built for Plexus plugin ABI " + std::to_string(head.abi_version) +
               ", this host uses ABI " + std::to_string(PLEXUS_ABI_VERSION) +
               " (rebuild the plugin against this SDK)";
    if (head.struct_size != sizeof(Manifest))
        return "manifest layout differs from this host's (rebuild it against this SDK)";
    if (!head.build_tag)
        return "its manifest's build tag cannot be read (corrupt; rebuild or reinstall it)";
    if (*head.build_tag != PLEXUS_BUILD_TAG)
        return "built with " + shell_word(*head.build_tag) +
               ", this host with '" PLEXUS_BUILD_TAG
               "' (rebuild it with the same compiler and SDK)";
    return {};
}

}  // namespace

std::string Registry::Library::load() {
    try {
        lib.load(boost::dll::fs::path(path),
                 boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
        return std::string("cannot be loaded: ") + e.what() +
               " (rebuild it against this Plexus SDK)";
    }
    const Manifest* m = nullptr;
    try {
        m = &lib.get<const Manifest>(PLEXUS_MANIFEST_DATA_SYMBOL);
    } catch (const std::exception& e) {
        return std::string("entry point unusable: ") + e.what();
    }
    if (std::string why = manifest_pointer_problem(*m); !why.empty()) return why;
    // The file may have changed since it was read; the loaded manifest must agree too.
    ManifestHead loaded{m->abi_version, m->struct_size, std::nullopt};
    if (m->build_tag) loaded.build_tag = std::string(m->build_tag);
    if (std::string why = manifest_mismatch(loaded); !why.empty()) return why;
    manifest = m;
    return {};
}

ComponentSpec parse_component_spec(std::string_view text, const std::string& where) {
    ComponentSpec spec;
    spec.where = where;
    std::vector<std::string> tokens;
    for (const auto& t : support::split(text, ' '))
        if (!support::trim(t).empty()) tokens.push_back(support::trim(t));
    if (tokens.empty())
        throw ConfigError(prefix(where) + "empty component (expected 'name key=value ...')");
    spec.name = tokens[0];
    if (spec.name.find('=') != std::string::npos)
        throw ConfigError(prefix(where) + "expected a component name before '" + spec.name + "'");
    for (std::size_t i = 1; i < tokens.size(); ++i) {
        const auto eq = tokens[i].find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == tokens[i].size())
            throw ConfigError(prefix(where) + "expected key=value after '" + spec.name +
                              "', found '" + tokens[i] + "'");
        spec.params.emplace_back(tokens[i].substr(0, eq), tokens[i].substr(eq + 1));
    }
    return spec;
}

std::string describe_range(const ParamSpec& spec) {
    if (spec.type == ParamType::choice) return spec.choices ? spec.choices : "";
    if (spec.type == ParamType::boolean) return "true|false";
    if (spec.type == ParamType::string) return "";
    const bool has_min = std::isfinite(spec.min), has_max = std::isfinite(spec.max);
    if (!has_min && !has_max) return "";
    std::string s = (spec.flags & kMinExclusive) || !has_min ? "(" : "[";
    s += has_min ? format_number(spec.min) : "-inf";
    s += ", ";
    s += has_max ? format_number(spec.max) : "inf";
    s += (spec.flags & kMaxExclusive) || !has_max ? ")" : "]";
    return s;
}

Registry::Registry(RegistryOptions options) : options_(std::move(options)) {
    const char* debug = std::getenv("PLEXUS_DEBUG_PLUGINS");
    debug_ = debug && *debug && std::string(debug) != "0";

    search_path_ = plugin_search_path(options_, errors_);

    std::set<fs::path> seen;
    for (const auto& folder : search_path_) {
        std::error_code ec;
        const fs::path canonical = fs::weakly_canonical(folder, ec);
        if (!seen.insert(ec ? folder : canonical).second) continue;  // same folder twice
        scan_folder(folder);
    }
}

Registry::~Registry() = default;

void Registry::scan_folder(const fs::path& folder) {
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) {
        if (debug_) std::cerr << "plexus: plugin folder " << folder.string() << ": not found\n";
        return;
    }
    // Files are listed and loaded through the real folder: the trust walk then checks the
    // folders actually read, and a symbolic link on the way cannot be swapped after it.
    const fs::path real = fs::canonical(folder, ec);
    if (ec) {
        errors_.push_back({folder, folder.string() + ": plugin folder cannot be resolved (" +
                                       ec.message() + ")"});
        return;
    }
    if (!options_.allow_insecure) {
        if (std::string why = folder_trust_problem(real); !why.empty()) {
            errors_.push_back({folder, why});
            return;
        }
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(real, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("libplexus-", 0) == 0 && entry.path().extension() == ".so")
            files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    // Every check that reads the file comes first; the survivors are then loaded by the
    // plugin scanner, out of process, before this process loads any of them.
    std::vector<std::string> refusals(files.size());
    std::vector<ScanCandidate> candidates;
    for (std::size_t i = 0; i < files.size(); ++i) {
        ScanCandidate c{files[i], {}};
        refusals[i] = check_file(c.path, c.st);
        if (refusals[i].empty()) candidates.push_back(std::move(c));
    }
    const std::vector<std::string> verdicts = vet_plugins(candidates, debug_);
    FolderCatalog& catalog = catalogs_[real];
    catalog.file = plugin_catalog_file(real);
    if (!catalog.file.empty()) catalog.entries = read_plugin_catalog(catalog.file, real);
    for (std::size_t i = 0, next = 0; i < files.size(); ++i) {
        std::string key;
        if (refusals[i].empty()) {
            key = plugin_scan_key(candidates[next]);
            refusals[i] = verdicts[next++];
        }
        if (!refusals[i].empty()) {
            refuse(files[i], refusals[i]);
        } else if (const auto hit = catalog.entries.find(key); hit != catalog.entries.end()) {
            add_catalogued(files[i], key, hit->second, catalog.file);
        } else {
            load_file(files[i], key, catalog);
        }
    }
    if (catalog.changed && !catalog.file.empty())
        write_plugin_catalog(catalog.file, real, catalog.entries);
}

void Registry::refuse(const fs::path& file, const std::string& why) {
    errors_.push_back({file, file.string() + ": " + why});
    if (debug_) std::cerr << "plexus: plugin candidate " << file.string() << ": " << why << "\n";
}

std::string Registry::check_file(const fs::path& file, struct stat& st) const {
    if (::lstat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        return "not a regular file; only regular files are loaded as plugins";
    if (!options_.allow_insecure) {
        if (std::string why = file_trust_problem(file, st); !why.empty()) return why;
    }
    // Judged from the file alone: a refused plugin never runs, not even its constructors.
    ManifestHead head;
    if (std::string why = read_manifest_head(file, head); !why.empty()) return why;
    return manifest_mismatch(head);
}

void Registry::load_file(const fs::path& file, const std::string& key, FolderCatalog& catalog) {
    auto library = std::make_shared<Library>();
    library->path = file;
    library->key = key;
    if (std::string why = library->load(); !why.empty()) return refuse(file, why);
    const Manifest& manifest = *library->manifest;
    keep_alive().push_back(library);
    libraries_.push_back(library);
    std::size_t added = 0;
    // Catalogued only when every component is well formed and no bound is NaN (which the
    // catalog could not compare), so a warm start reports what this one did.
    bool catalogue = true;
    std::vector<CatalogComponent> entries;
    for (std::size_t i = 0; i < manifest.component_count; ++i) {
        const ComponentInfo& c = manifest.components[i];
        bool params_ok = c.param_count == 0 || c.params;
        for (std::size_t p = 0; params_ok && p < c.param_count; ++p)
            params_ok = c.params[p].name && c.params[p].doc &&
                        static_cast<std::uint32_t>(c.params[p].type) <=
                            static_cast<std::uint32_t>(ParamType::choice) &&
                        (c.params[p].type != ParamType::choice || c.params[p].choices);
        if (!c.name || !*c.name || !kind_name(c.kind) || !c.create || !c.version || !c.summary ||
            !params_ok) {
            refuse(file, "component #" + std::to_string(i) +
                             " is malformed (missing name, kind, version, summary, factory or "
                             "parameter fields)");
            catalogue = false;
            continue;
        }
        for (std::size_t p = 0; p < c.param_count; ++p)
            catalogue = catalogue && !std::isnan(c.params[p].min) && !std::isnan(c.params[p].max);
        entries.push_back(catalog_component(c));
        if (add_component(c, file)) ++added;
    }
    if (catalogue && !key.empty()) {
        // The entries of this path's earlier versions go (no library refers to them: their
        // keys did not match this start's).
        const std::string path = plugin_scan_key_path(key);
        auto& e = catalog.entries;
        for (auto it = e.begin(); it != e.end();)
            it = plugin_scan_key_path(it->first) == path ? e.erase(it) : std::next(it);
        e[key] = std::move(entries);
        catalog.changed = true;
    }
    if (debug_)
        std::cerr << "plexus: plugin candidate " << file.string() << ": loaded, " << added
                  << " component(s)\n";
}

void Registry::add_catalogued(const fs::path& file, const std::string& key,
                              const std::vector<CatalogComponent>& components,
                              const fs::path& catalog_file) {
    auto library = std::make_shared<Library>();
    library->path = file;
    library->key = key;
    library->catalogued = &components;  // the catalog is not changed for this key again
    library->catalog_file = catalog_file;
    libraries_.push_back(library);
    std::size_t added = 0;
    for (const auto& c : components) {
        const CatalogInfo& stand_in = catalog_infos_.emplace_back(c);
        if (add_component(stand_in.info(), file)) ++added;
    }
    if (debug_)
        std::cerr << "plexus: plugin candidate " << file.string() << ": from the catalog, " << added
                  << " component(s), loaded on first use\n";
}

bool Registry::add_component(const ComponentInfo& c, const fs::path& file) {
    if (const ComponentEntry* prev = find(c.kind, c.name)) {
        errors_.push_back({file, file.string() + ": duplicate " + kind_name(c.kind) + " '" +
                                     c.name + "' ignored; already provided by " +
                                     prev->library.string() +
                                     " (remove one, or reorder --plugin-path)"});
        return false;
    }
    components_.push_back({&c, file});
    return true;
}

Registry::Library& Registry::loaded_library(const ComponentEntry& entry) const {
    std::shared_ptr<Library> library;
    for (const auto& l : libraries_)
        if (l->path == entry.library) library = l;
    if (!library) throw PluginError(entry.library.string() + ": not a loaded plugin library");
    const std::lock_guard<std::mutex> lock(load_mutex_);
    if (library->manifest) return *library;
    if (!library->failed.empty()) throw PluginError(library->failed);
    const fs::path& file = library->path;
    auto fail = [&](const std::string& why) {
        library->failed = file.string() + ": " + why;
        throw PluginError(library->failed);
    };
    // The scanner vetted the file with this key; a file changed since is not loaded unvetted.
    ScanCandidate now{file, {}};
    if (::lstat(file.c_str(), &now.st) != 0 || plugin_scan_key(now) != library->key)
        fail("plugin file changed since plexus started; run the command again");
    if (std::string why = library->load(); !why.empty()) fail(why);
    // Parameters were validated against the catalog's copy: the library must declare the same.
    for (const auto& promised : *library->catalogued) {
        bool same = false;
        for (std::size_t i = 0; i < library->manifest->component_count && !same; ++i)
            same = same_component(promised, library->manifest->components[i]);
        if (!same) {
            std::error_code ec;
            // The next start loads every library of the folder and rebuilds it.
            fs::remove(library->catalog_file, ec);
            library->manifest = nullptr;
            fail(std::string(kind_name(promised.kind)) + " '" + promised.name +
                 "' differs from the plugin catalog " + library->catalog_file.string() +
                 " (now removed); run the command again");
        }
    }
    keep_alive().push_back(library);
    if (debug_) std::cerr << "plexus: plugin " << file.string() << ": loaded on first use\n";
    return *library;
}

const ComponentEntry* Registry::find(Kind kind, std::string_view name) const {
    for (const auto& c : components_)
        if (c.info->kind == kind && name == c.info->name) return &c;
    return nullptr;
}

const ComponentEntry& Registry::require(Kind kind, std::string_view name,
                                        const std::string& where) const {
    if (const auto* c = find(kind, name)) return *c;
    std::vector<std::string> names;
    for (const auto& c : components_)
        if (c.info->kind == kind) names.emplace_back(c.info->name);
    std::string msg = prefix(where) + "unknown " + kind_name(kind) + " '" + std::string(name) + "'";
    const std::string hint = support::did_you_mean(name, names);
    if (!hint.empty())
        msg += hint;
    else if (!names.empty())
        msg += " (available: " + support::join(names) + ")";
    else
        msg += std::string(" (no ") + kind_name(kind) + " plugins found; see `plexus plugins`)";
    if (!errors_.empty())
        msg += "; " + std::to_string(errors_.size()) +
               " plugin file(s) failed to load: `plexus plugins` lists why";
    throw PluginError(msg);
}

std::vector<const ComponentEntry*> Registry::find_any(std::string_view name) const {
    std::vector<const ComponentEntry*> out;
    for (const auto& c : components_)
        if (name == c.info->name) out.push_back(&c);
    return out;
}

Params Registry::validate(const ComponentEntry& entry, const ComponentSpec& spec) {
    const ComponentInfo& info = *entry.info;
    const std::string what = std::string(kind_name(info.kind)) + " '" + info.name + "'";
    const std::string where = prefix(spec.where);
    std::vector<std::string> names;
    for (std::size_t i = 0; i < info.param_count; ++i) names.emplace_back(info.params[i].name);

    Params params;
    std::set<std::string> given;
    for (const auto& [key, value] : spec.params) {
        const ParamSpec* ps = nullptr;
        for (std::size_t i = 0; i < info.param_count; ++i)
            if (key == info.params[i].name) ps = &info.params[i];
        if (!ps) {
            std::string msg = where + "unknown parameter '" + key + "' for " + what;
            msg += names.empty() ? " (it takes no parameters)"
                                 : " (valid: " + support::join(names) + ")" +
                                       support::did_you_mean(key, names);
            throw ParamError(msg);
        }
        if (!given.insert(key).second)
            throw ParamError(where + "parameter '" + key + "' of " + what + " given twice");
        const std::string bad = where + "parameter '" + key + "' of " + what + ": '" + value + "' ";
        double number = 0;
        switch (ps->type) {
            case ParamType::integer: {
                long long v = 0;
                auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
                if (ec != std::errc() || p != value.data() + value.size())
                    throw ParamError(bad + "is not an integer");
                number = static_cast<double>(v);
                break;
            }
            case ParamType::real:
                // Plugins read reals as float: a value beyond float's range would become inf.
                if (!parse_double(value, number) || std::fabs(number) > 3.4e38)
                    throw ParamError(bad + "is not a number in float range");
                break;
            case ParamType::boolean:
                if (value != "true" && value != "false" && value != "1" && value != "0" &&
                    value != "yes" && value != "no" && value != "on" && value != "off")
                    throw ParamError(bad + "is not true or false");
                break;
            case ParamType::choice: {
                const auto choices = support::split(ps->choices ? ps->choices : "", '|');
                if (std::find(choices.begin(), choices.end(), value) == choices.end())
                    throw ParamError(bad + "is not one of " + support::join(choices, "|") +
                                     support::did_you_mean(value, choices));
                break;
            }
            case ParamType::string:
                break;
        }
        if (ps->type == ParamType::integer || ps->type == ParamType::real) {
            const bool below = (ps->flags & kMinExclusive) ? number <= ps->min : number < ps->min;
            const bool above = (ps->flags & kMaxExclusive) ? number >= ps->max : number > ps->max;
            if (below || above) throw ParamError(bad + "is out of range " + describe_range(*ps));
        }
        params.set(key, value);
    }
    for (std::size_t i = 0; i < info.param_count; ++i) {
        const ParamSpec& ps = info.params[i];
        if (params.has(ps.name)) continue;
        if (!ps.default_value)
            throw ParamError(where + "missing required parameter '" + ps.name + "' for " + what +
                             " (e.g. " + info.name + " " + ps.name + "=...)");
        params.set(ps.name, ps.default_value);
    }
    return params;
}

ListDevicesFn Registry::device_lister(const ComponentEntry& entry) const {
    Library& library = loaded_library(entry);
    if (!library.lib.has(kDeviceListSymbol)) return nullptr;
    try {
        return library.lib.get_alias<ListDevicesFn()>(kDeviceListSymbol)();
    } catch (const std::exception&) {
        return nullptr;
    }
}

namespace {

// "opencl:1" -> "opencl device=1"; "cpu:0" -> "cpu" when cpu has no `device` parameter.
ComponentSpec device_index_spec(const Registry& registry, ComponentSpec spec) {
    const auto colon = spec.name.rfind(':');
    if (colon == std::string::npos || colon == 0) return spec;
    const std::string index = spec.name.substr(colon + 1);
    unsigned long long n = 0;
    auto [p, ec] = std::from_chars(index.data(), index.data() + index.size(), n);
    if (index.empty() || ec != std::errc() || p != index.data() + index.size())
        throw ConfigError(prefix(spec.where) + "device '" + spec.name +
                          "': expected NAME or NAME:INDEX (e.g. opencl:0; see `plexus devices`)");
    spec.name.resize(colon);
    const ComponentEntry& entry = registry.require(Kind::device, spec.name, spec.where);
    bool indexed = false;
    for (std::size_t i = 0; i < entry.info->param_count; ++i)
        indexed |= std::string_view(entry.info->params[i].name) == "device";
    for (const auto& [key, value] : spec.params)
        if (key == "device")
            throw ConfigError(prefix(spec.where) + "device '" + spec.name + ":" + index +
                              "' also sets device=" + value + "; give the index once");
    if (indexed)
        spec.params.emplace_back("device", index);
    else if (n != 0)
        throw PluginError(prefix(spec.where) + "device '" + spec.name + "' has only one device, " +
                          spec.name + ":0 (see `plexus devices`)");
    return spec;
}

}  // namespace

std::shared_ptr<void> Registry::create(Kind kind, const ComponentSpec& given) const {
    const ComponentSpec spec = kind == Kind::device ? device_index_spec(*this, given) : given;
    const ComponentEntry& entry = require(kind, spec.name, spec.where);
    if (!has_interface(kind))
        throw PluginError(prefix(spec.where) + kind_name(kind) + " plugins are not supported yet");
    const Params params = validate(entry, spec);
    // The factory of a catalogued component is the loaded library's own.
    FactoryFn factory = entry.info->create;
    if (!factory) {
        const Manifest& manifest = *loaded_library(entry).manifest;
        for (std::size_t i = 0; i < manifest.component_count && !factory; ++i)
            if (manifest.components[i].kind == kind && spec.name == manifest.components[i].name)
                factory = manifest.components[i].create;
        if (!factory)
            throw PluginError(prefix(spec.where) + entry.library.string() + ": " + kind_name(kind) +
                              " '" + spec.name + "' has no factory");
    }
    char error[4096] = {};  // room for a device's kernel build log
    void* object = factory(params, error, sizeof error);
    if (!object)
        throw PluginError(prefix(spec.where) + "cannot create " + kind_name(kind) + " '" +
                          spec.name + "' (" + entry.library.filename().string() +
                          "): " + (error[0] ? error : "its factory failed"));
    std::shared_ptr<Library> library;
    for (const auto& l : libraries_)
        if (l->path == entry.library) library = l;
    return std::shared_ptr<void>(object, [kind, library](void* p) { destroy(kind, p); });
}

}  // namespace plexus::core
