#include "plexus/support/run_path.hpp"

#include <filesystem>

#include "plexus/error.hpp"

namespace plexus::support {
namespace {

/// Whether the relative path `rel` climbs above the folder it starts from ("..", "a/../..").
bool climbs_out(const std::string& rel) {
    long depth = 0;
    for (const auto& part : std::filesystem::path(rel)) {
        const std::string p = part.string();
        if (p == "..") {
            if (--depth < 0) return true;
        } else if (!p.empty() && p != "." && p != "/") {
            ++depth;
        }
    }
    return false;
}

}  // namespace

std::string expand_run_path(const std::string& who, const std::string& pattern,
                            const TrainState& state, const std::size_t* epoch) {
    std::string out;
    bool run_dir_first = false;
    for (std::size_t i = 0; i < pattern.size();) {
        if (pattern[i] != '{') {
            out += pattern[i++];
            continue;
        }
        const std::size_t close = pattern.find('}', i);
        if (close == std::string::npos)
            throw Error(who + ": path '" + pattern + "' has a '{' without its '}'");
        const std::string name = pattern.substr(i + 1, close - i - 1);
        if (name == "run_dir") {
            if (state.run_dir.empty())
                throw Error(who + ": path '" + pattern +
                            "' uses {run_dir} but this run writes no run folder; give a path "
                            "without it, e.g. path=out/file");
            if (i != 0)
                throw Error(who + ": path '" + pattern +
                            "': {run_dir} may only begin a path ({run_dir}/file)");
            run_dir_first = true;
            out += state.run_dir;
        } else if (name == "epoch" && epoch) {
            out += std::to_string(*epoch + 1);
        } else {
            throw Error(who + ": path '" + pattern + "': unknown placeholder '{" + name +
                        "}' (use {run_dir}" + (epoch ? " or {epoch})" : ")"));
        }
        i = close + 1;
    }
    // An absolute path is on purpose; anything else stays inside the run folder.
    if (!run_dir_first && !out.empty() && out[0] == '/') return out;
    const std::string inside = run_dir_first ? out.substr(state.run_dir.size()) : out;
    if (climbs_out(inside))
        throw Error(who + ": path '" + pattern +
                    "' leads out of the run folder; outputs stay inside it (a relative path "
                    "starts there) unless the path is absolute");
    if (run_dir_first || state.run_dir.empty()) return out;
    return state.run_dir + "/" + out;
}

}  // namespace plexus::support
