// The plugin catalog (see plugin_catalog.hpp). One JSON file, written atomically and read as
// hostile input: another program, a full disk or a person may have written anything there. A
// catalog that is not exactly what this file writes is ignored as a whole; a catalog whose
// entries lie is caught when the library is loaded (the registry compares every field).
#include "plexus/core/registry/plugin_catalog.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "plexus/core/registry/cache_folder.hpp"
#include "plexus/core/registry/plugin_scan.hpp"
#include "plexus/support/files.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace plexus::core {
namespace {

constexpr std::size_t kMaxBytes = 4 << 20;
constexpr std::size_t kMaxFiles = 4096;
constexpr std::size_t kMaxComponents = 4096;  // per file
constexpr std::size_t kMaxParams = 1024;      // per component
constexpr std::size_t kMaxText = 65536;       // per string
constexpr int kMaxDepth = 8;                  // what this file writes has depth 6
constexpr int kFormat = 1;

const char* const kTypeNames[] = {"integer", "real", "boolean", "string", "choice"};

std::string text_of(const char* s) {
    return s ? s : "";
}

/// The deepest nesting of arrays and objects in JSON text (strings skipped), so a hostile
/// file cannot make the parser or the destructor of its tree recurse without bound.
int nesting_depth(const std::string& text) {
    int depth = 0, deepest = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
            if (deepest > kMaxDepth) return deepest;
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return deepest;
}

json header(const fs::path& folder) {
    return {{"plexus-plugin-catalog", kFormat},
            {"abi", PLEXUS_ABI_VERSION},
            {"build", PLEXUS_BUILD_TAG},
            {"folder", folder.string()}};
}

/// A bound: -inf / +inf are written as null (JSON has no infinities).
json bound(double v) {
    return std::isinf(v) ? json(nullptr) : json(v);
}

json to_json(const CatalogComponent& c) {
    json params = json::array();
    for (const auto& p : c.params)
        params.push_back({{"name", p.name},
                          {"type", kTypeNames[static_cast<int>(p.type)]},
                          {"default", p.required ? json(nullptr) : json(p.default_value)},
                          {"min", bound(p.min)},
                          {"max", bound(p.max)},
                          {"choices", p.choices},
                          {"doc", p.doc},
                          {"flags", p.flags}});
    return {{"kind", kind_name(c.kind)},
            {"name", c.name},
            {"version", c.version},
            {"summary", c.summary},
            {"params", std::move(params)}};
}

// Readers: each returns false on anything this file would not have written.
bool read_text(const json& j, const char* key, std::string& out) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return false;
    const auto& s = it->get_ref<const std::string&>();
    if (s.size() > kMaxText || s.find('\0') != std::string::npos) return false;
    out = s;
    return true;
}

bool read_bound(const json& j, const char* key, double infinity, double& out) {
    const auto it = j.find(key);
    if (it == j.end()) return false;
    if (it->is_null()) {
        out = infinity;
        return true;
    }
    if (!it->is_number()) return false;
    out = it->get<double>();
    return std::isfinite(out);
}

bool read_param(const json& j, CatalogParam& p) {
    if (!j.is_object() || !read_text(j, "name", p.name) || !read_text(j, "choices", p.choices) ||
        !read_text(j, "doc", p.doc) ||
        !read_bound(j, "min", -std::numeric_limits<double>::infinity(), p.min) ||
        !read_bound(j, "max", std::numeric_limits<double>::infinity(), p.max))
        return false;
    std::string type;
    if (!read_text(j, "type", type)) return false;
    const auto* t = std::find(std::begin(kTypeNames), std::end(kTypeNames), type);
    if (t == std::end(kTypeNames)) return false;
    p.type = static_cast<ParamType>(t - std::begin(kTypeNames));
    const auto def = j.find("default");
    if (def == j.end()) return false;
    p.required = def->is_null();
    if (!p.required && !read_text(j, "default", p.default_value)) return false;
    const auto flags = j.find("flags");
    if (flags == j.end() || !flags->is_number_unsigned() || flags->get<std::uint64_t>() > 3)
        return false;
    p.flags = static_cast<std::uint32_t>(flags->get<std::uint64_t>());
    return true;
}

bool read_component(const json& j, CatalogComponent& c) {
    std::string kind;
    if (!j.is_object() || !read_text(j, "kind", kind) || !read_text(j, "name", c.name) ||
        !read_text(j, "version", c.version) || !read_text(j, "summary", c.summary) ||
        c.name.empty())
        return false;
    bool known = false;
    for (std::uint32_t k = 0; kind_name(static_cast<Kind>(k)); ++k)
        if (kind == kind_name(static_cast<Kind>(k))) {
            c.kind = static_cast<Kind>(k);
            known = true;
        }
    const auto params = j.find("params");
    if (!known || params == j.end() || !params->is_array() || params->size() > kMaxParams)
        return false;
    c.params.resize(params->size());
    for (std::size_t i = 0; i < params->size(); ++i)
        if (!read_param((*params)[i], c.params[i])) return false;
    return true;
}

bool same_text(const std::string& a, const char* b) {
    return b && a == b;
}

/// Bounds compare as bits (a NaN bound is never catalogued, see catalog_component's callers).
bool same_number(double a, double b) {
    return a == b || (std::isnan(a) && std::isnan(b));
}

/// Removes the catalogs beside `keep` whose plugin folder is gone (a build tree deleted, a
/// test's temporary folder) or that do not say which folder they are for, so the catalogs do
/// not pile up. Run when a catalog is written, which is rare; other processes' temporary files
/// (dot names) are left alone.
void prune_catalogs(const fs::path& keep) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(keep.parent_path(), ec)) {
        const fs::path& p = entry.path();
        if (p == keep || p.filename().string().rfind('.', 0) == 0 || p.extension() != ".json")
            continue;
        const std::string text = read_cache_text(p, kMaxBytes);
        const json j = text.empty() || nesting_depth(text) > kMaxDepth
                           ? json()
                           : json::parse(text, nullptr, /*allow_exceptions=*/false);
        const json folder = j.is_object() ? j.value("folder", json()) : json();
        std::error_code exists_ec;
        if (!folder.is_string() || !fs::is_directory(folder.get<std::string>(), exists_ec))
            fs::remove(p, exists_ec);
    }
}

}  // namespace

fs::path plugin_catalog_file(const fs::path& folder) {
    const fs::path cache = cache_folder();
    if (cache.empty()) return {};
    return cache / "plugin-catalogs" / fmt::format("{:016x}.json", cache_name_hash(folder.string()));
}

CatalogComponent catalog_component(const ComponentInfo& info) {
    CatalogComponent c;
    c.kind = info.kind;
    c.name = text_of(info.name);
    c.version = text_of(info.version);
    c.summary = text_of(info.summary);
    for (std::size_t i = 0; info.params && i < info.param_count; ++i) {
        const ParamSpec& s = info.params[i];
        CatalogParam p;
        p.name = text_of(s.name);
        p.type = s.type;
        p.required = s.default_value == nullptr;
        p.default_value = text_of(s.default_value);
        p.min = s.min;
        p.max = s.max;
        p.choices = text_of(s.choices);
        p.doc = text_of(s.doc);
        p.flags = s.flags;
        c.params.push_back(std::move(p));
    }
    return c;
}

bool same_component(const CatalogComponent& c, const ComponentInfo& info) {
    if (c.kind != info.kind || !same_text(c.name, info.name) ||
        !same_text(c.version, info.version) || !same_text(c.summary, info.summary) ||
        c.params.size() != info.param_count || (info.param_count && !info.params))
        return false;
    for (std::size_t i = 0; i < c.params.size(); ++i) {
        const CatalogParam& p = c.params[i];
        const ParamSpec& s = info.params[i];
        if (!same_text(p.name, s.name) || p.type != s.type ||
            p.required != (s.default_value == nullptr) ||
            (!p.required && !same_text(p.default_value, s.default_value)) ||
            !same_number(p.min, s.min) || !same_number(p.max, s.max) ||
            p.choices != text_of(s.choices) || p.doc != text_of(s.doc) || p.flags != s.flags)
            return false;
    }
    return true;
}

PluginCatalog read_plugin_catalog(const fs::path& file, const fs::path& folder) {
    const std::string text = read_cache_text(file, kMaxBytes);
    if (text.empty() || nesting_depth(text) > kMaxDepth) return {};
    const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return {};
    const auto files = j.find("files");
    if (j.size() != 5 || j.value("plexus-plugin-catalog", json()) != kFormat ||
        j.value("abi", json()) != PLEXUS_ABI_VERSION ||
        j.value("folder", json()) != folder.string() ||  // another folder's (names collide)
        j.value("build", json()) != PLEXUS_BUILD_TAG || files == j.end() || !files->is_array() ||
        files->size() > kMaxFiles)
        return {};
    PluginCatalog catalog;
    for (const json& f : *files) {
        std::string key;
        if (!f.is_object() || !read_text(f, "key", key) || key.empty()) return {};
        const auto components = f.find("components");
        if (components == f.end() || !components->is_array() || components->size() > kMaxComponents)
            return {};
        std::vector<CatalogComponent> list(components->size());
        for (std::size_t i = 0; i < list.size(); ++i)
            if (!read_component((*components)[i], list[i])) return {};
        catalog[key] = std::move(list);
    }
    return catalog;
}

void write_plugin_catalog(const fs::path& file, const fs::path& folder,
                          const PluginCatalog& catalog) {
    json j = header(folder);
    json files = json::array();
    for (const auto& [key, components] : catalog) {
        const std::string path = plugin_scan_key_path(key);
        std::error_code ec;
        if (path.empty() || !fs::exists(path, ec)) continue;
        json list = json::array();
        for (const auto& c : components) list.push_back(to_json(c));
        json entry = {{"key", key}, {"components", std::move(list)}};
        try {
            (void)entry.dump();  // text that is not UTF-8 cannot be written: leave the file out
        } catch (const json::exception&) {
            continue;
        }
        files.push_back(std::move(entry));
        if (files.size() == kMaxFiles) break;
    }
    j["files"] = std::move(files);
    try {
        std::error_code ec;
        fs::create_directories(file.parent_path(), ec);
        support::write_file_atomic(file, j.dump() + "\n");
        // The one catalog of every folder that versions before 0.1 kept is read by none now.
        fs::remove(file.parent_path().parent_path() / "plugin-catalog", ec);
        prune_catalogs(file);
    } catch (const std::exception&) {
        // No catalog is still correct: the next start loads the libraries again.
    }
}

CatalogInfo::CatalogInfo(CatalogComponent component) : component_(std::move(component)) {
    for (const auto& p : component_.params) {
        ParamSpec s{p.name.c_str(), p.type, p.required ? nullptr : p.default_value.c_str()};
        s.min = p.min;
        s.max = p.max;
        s.choices = p.type == ParamType::choice || !p.choices.empty() ? p.choices.c_str() : nullptr;
        s.doc = p.doc.c_str();
        s.flags = p.flags;
        specs_.push_back(s);
    }
    info_.kind = component_.kind;
    info_.name = component_.name.c_str();
    info_.version = component_.version.c_str();
    info_.summary = component_.summary.c_str();
    info_.params = specs_.empty() ? nullptr : specs_.data();
    info_.param_count = specs_.size();
    info_.create = nullptr;
}

}  // namespace plexus::core
