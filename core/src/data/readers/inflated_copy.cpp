#include "inflated_copy.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>

#include "plexus/core/registry/cache_folder.hpp"
#include "plexus/support/files.hpp"

namespace fs = std::filesystem;

namespace plexus::core::detail {
namespace {

const char* const kSuffix = ".idx";

}  // namespace

fs::path inflated_copy(const fs::path& source) {
    if (source.extension() != ".gz") return {};
    if (const char* off = std::getenv("PLEXUS_DATA_CACHE"); off && std::strcmp(off, "0") == 0)
        return {};
    const fs::path folder = cache_folder();
    struct stat st {};
    if (folder.empty() || ::stat(source.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
    std::error_code ec;
    const fs::path absolute = fs::absolute(source, ec);
    if (ec) return {};
    const std::string identity =
        fmt::format("{} {} {}.{:09} {} {}", absolute.string(), st.st_size, st.st_mtim.tv_sec,
                    st.st_mtim.tv_nsec, st.st_ino, st.st_dev);
    return folder / "data" /
           fmt::format("{:016x}-{:016x}{}", cache_name_hash(absolute.string()),
                       cache_name_hash(identity), kSuffix);
}

void keep_inflated_copy(const fs::path& copy, std::span<const std::string_view> pieces) noexcept {
    try {
        std::error_code ec;
        fs::create_directories(copy.parent_path(), ec);
        if (ec) return;
        support::write_file_atomic(copy, pieces);
        // Earlier versions of the same source: same path hash, another identity.
        const std::string name = copy.filename().string();
        const std::string same_source = name.substr(0, name.find('-') + 1);
        for (const auto& entry : fs::directory_iterator(copy.parent_path(), ec)) {
            const std::string other = entry.path().filename().string();
            if (other != name && other.rfind(same_source, 0) == 0 &&
                entry.path().extension() == kSuffix)
                fs::remove(entry.path(), ec);
        }
    } catch (...) {
        // A cache: the data was read, only the next run's shortcut is lost.
    }
}

void drop_inflated_copy(const fs::path& copy) noexcept {
    std::error_code ec;
    fs::remove(copy, ec);
}

}  // namespace plexus::core::detail
