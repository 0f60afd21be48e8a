#include "plexus/support/run_path.hpp"

#include "plexus/error.hpp"

namespace plexus::support {

std::string expand_run_path(const std::string& who, const std::string& pattern,
                            const TrainState& state, const std::size_t* epoch) {
    std::string out;
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
            out += state.run_dir;
        } else if (name == "epoch" && epoch) {
            out += std::to_string(*epoch + 1);
        } else {
            throw Error(who + ": path '" + pattern + "': unknown placeholder '{" + name +
                        "}' (use {run_dir}" + (epoch ? " or {epoch})" : ")"));
        }
        i = close + 1;
    }
    return out;
}

}  // namespace plexus::support
