#include "plexus/core/registry/manifest_check.hpp"

#include <link.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace plexus::core {
namespace {

// A manifest lists a few components of a few parameters each; more is a corrupt count.
constexpr std::size_t kMaxEntries = 4096;

struct Span {
    std::uintptr_t begin, end;
    bool executable;
};

/// The loaded segments of the library whose image holds `anchor`.
std::vector<Span> segments_holding(const void* anchor) {
    struct Search {
        std::uintptr_t anchor;
        std::vector<Span> found;
    } search{reinterpret_cast<std::uintptr_t>(anchor), {}};
    ::dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void* data) -> int {
            auto& s = *static_cast<Search*>(data);
            std::vector<Span> spans;
            bool holds = false;
            for (int i = 0; i < info->dlpi_phnum; ++i) {
                const ElfW(Phdr)& p = info->dlpi_phdr[i];
                if (p.p_type != PT_LOAD || !(p.p_flags & PF_R)) continue;
                const std::uintptr_t begin = info->dlpi_addr + p.p_vaddr;
                spans.push_back({begin, begin + p.p_memsz, (p.p_flags & PF_X) != 0});
                holds |= s.anchor >= begin && s.anchor < begin + p.p_memsz;
            }
            if (!holds) return 0;
            s.found = std::move(spans);
            return 1;
        },
        &search);
    return search.found;
}

class Image {
public:
    explicit Image(std::vector<Span> spans) : spans_(std::move(spans)) {}
    bool holds(const void* p, std::size_t n, bool code = false) const {
        const auto at = reinterpret_cast<std::uintptr_t>(p);
        for (const auto& s : spans_)
            if (at >= s.begin && at <= s.end && n <= s.end - at && (!code || s.executable))
                return true;
        return false;
    }
    bool text(const char* p, bool optional = false) const {
        if (!p) return optional;
        const auto at = reinterpret_cast<std::uintptr_t>(p);
        for (const auto& s : spans_)
            if (at >= s.begin && at < s.end) return ::strnlen(p, s.end - at) < s.end - at;
        return false;
    }

private:
    std::vector<Span> spans_;
};

bool params_ok(const Image& image, const ComponentInfo& c) {
    if (c.param_count == 0) return true;
    if (c.param_count > kMaxEntries || !image.holds(c.params, c.param_count * sizeof(ParamSpec)))
        return false;
    for (std::size_t i = 0; i < c.param_count; ++i) {
        const ParamSpec& p = c.params[i];
        if (!image.text(p.name) || !image.text(p.doc) || !image.text(p.default_value, true) ||
            !image.text(p.choices, true))
            return false;
    }
    return true;
}

}  // namespace

std::string manifest_pointer_problem(const Manifest& manifest) {
    const Image image(segments_holding(&manifest));
    const std::string corrupt = "is corrupt (its manifest points outside the library";
    const char* fix = "; rebuild or reinstall it)";
    if (manifest.component_count > kMaxEntries ||
        (manifest.component_count &&
         !image.holds(manifest.components, manifest.component_count * sizeof(ComponentInfo))) ||
        !image.text(manifest.build_tag))
        return corrupt + fix;
    for (std::size_t i = 0; i < manifest.component_count; ++i) {
        const ComponentInfo& c = manifest.components[i];
        if (!image.text(c.name) || !image.text(c.version) || !image.text(c.summary) ||
            !image.holds(reinterpret_cast<const void*>(c.create), 1, true) || !params_ok(image, c))
            return corrupt + " (component #" + std::to_string(i) + ")" + fix;
    }
    return {};
}

}  // namespace plexus::core
