// The plugin-scan verdict cache: one line per plugin file that the scanner loaded without
// dying, so a warm start spawns no helper. The file is read as hostile input (another
// program, a full disk or a person may have written anything there): bounded, and any line
// that is not exactly what this file writes is skipped.
#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <set>

#include "plexus/core/registry/cache_folder.hpp"
#include "plexus/core/registry/plugin_scan.hpp"
#include "plexus/plugin.hpp"
#include "plexus/support/files.hpp"
#include "plexus/support/input_file.hpp"

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

constexpr std::size_t kMaxCacheBytes = 1 << 20;
constexpr std::size_t kMaxLine = 4096;
constexpr std::size_t kMaxEntries = 4096;
constexpr int kKeyNumbers = 5;  // device, inode, size, mtime ns, ctime ns

/// A verdict holds only for the host it was made for: another ABI or build resolves a
/// plugin's symbols against other code.
std::string header() {
    return "plexus-plugin-scan 1 abi " + std::to_string(PLEXUS_ABI_VERSION) + " " +
           PLEXUS_BUILD_TAG;
}

long long nanoseconds(const struct timespec& t) {
    return static_cast<long long>(t.tv_sec) * 1000000000LL + t.tv_nsec;
}

/// "<5 numbers> <absolute path>" rebuilt from its parts, or empty when `line` is not one.
std::string parse_key(std::string_view line) {
    std::string key;
    const char* p = line.data();
    const char* end = line.data() + line.size();
    for (int i = 0; i < kKeyNumbers; ++i) {
        long long n = 0;
        auto [next, ec] = std::from_chars(p, end, n);
        if (ec != std::errc() || next == end || *next != ' ' || n < 0) return {};
        key += std::to_string(n) + " ";
        p = next + 1;
    }
    if (p == end || *p != '/') return {};
    return key.append(p, end);
}


}  // namespace

std::string read_cache_text(const fs::path& file, std::size_t max_bytes) {
    try {
        return support::read_input_file(file, max_bytes);
    } catch (const std::exception&) {
        return {};
    }
}

fs::path cache_folder() {
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg == '/')
        return fs::path(xdg) / "plexus";
    if (const char* home = std::getenv("HOME"); home && *home == '/')
        return fs::path(home) / ".cache" / "plexus";
    return {};
}

std::uint64_t cache_name_hash(std::string_view text) {
    std::uint64_t h = 14695981039346656037ull;
    for (const unsigned char c : text) h = (h ^ c) * 1099511628211ull;
    return h;
}

fs::path plugin_scan_cache_file() {
    const fs::path folder = cache_folder();
    return folder.empty() ? folder : folder / "plugin-scan";
}

std::string plugin_scan_key(const ScanCandidate& c) {
    return std::to_string(c.st.st_dev) + " " + std::to_string(c.st.st_ino) + " " +
           std::to_string(c.st.st_size) + " " + std::to_string(nanoseconds(c.st.st_mtim)) + " " +
           std::to_string(nanoseconds(c.st.st_ctim)) + " " + c.path.string();
}

std::string plugin_scan_key_path(const std::string& key) {
    const std::size_t slash = key.find('/');
    return slash == std::string::npos ? std::string() : key.substr(slash);
}

std::vector<std::string> read_plugin_scan_cache(const fs::path& file) {
    std::vector<std::string> keys;
    const std::string text = read_cache_text(file, kMaxCacheBytes);
    std::size_t pos = 0;
    bool first = true;
    while (pos < text.size() && keys.size() < kMaxEntries) {
        const std::size_t eol = text.find('\n', pos);
        if (eol == std::string::npos) break;  // a last line cut short is not trusted
        const std::string_view line(text.data() + pos, eol - pos);
        pos = eol + 1;
        if (first) {
            if (line != header()) return {};
            first = false;
            continue;
        }
        if (line.size() > kMaxLine || line.rfind("ok ", 0) != 0) continue;
        if (std::string key = parse_key(line.substr(3)); !key.empty())
            keys.push_back(std::move(key));
    }
    return keys;
}

/// Adds `good` to the cache file (dropping older entries for the same paths), atomically.
void write_plugin_scan_cache(const fs::path& file, const std::vector<std::string>& old_keys,
                             const std::vector<ScanCandidate>& good) {
    std::set<std::string> replaced;
    for (const auto& c : good) replaced.insert(c.path.string());
    std::vector<std::string> keys;
    for (const auto& k : old_keys) {
        // Files gone (a removed install, a test's temporary copy) leave the cache here.
        std::error_code ec;
        const std::string path = plugin_scan_key_path(k);
        if (!replaced.count(path) && fs::exists(path, ec)) keys.push_back(k);
    }
    for (const auto& c : good)
        if (c.path.string().find('\n') == std::string::npos) keys.push_back(plugin_scan_key(c));
    const std::size_t skip = keys.size() > kMaxEntries ? keys.size() - kMaxEntries : 0;
    std::string text = header() + "\n";
    for (std::size_t i = skip; i < keys.size(); ++i) text += "ok " + keys[i] + "\n";
    try {
        std::error_code ec;
        fs::create_directories(file.parent_path(), ec);
        support::write_file_atomic(file, text);
    } catch (const std::exception&) {
        // No cache is still correct: the next start scans again.
    }
}

}  // namespace plexus::core
