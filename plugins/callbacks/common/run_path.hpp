// Output paths of the file-writing callbacks (model_checkpoint, csv_logger): "{run_dir}" and
// "{epoch}" placeholders, resolved the same way for both. Header-only, like monitor.hpp.
#pragma once

#include <filesystem>
#include <string>
#include <system_error>

#include "plexus/callback.hpp"
#include "plexus/error.hpp"

namespace plexus::callbacks {

/// Replaces "{run_dir}" with the run folder and, when `epoch` is given, "{epoch}" with the
/// 1-based epoch number (the number the progress line shows). Throws plexus::Error for a
/// placeholder that cannot be filled, naming the callback `who`.
inline std::string expand_path(const std::string& who, const std::string& pattern,
                               const TrainState& state, const std::size_t* epoch = nullptr) {
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

/// Creates the folder a file will be written into, so path=checkpoints/x works.
inline void create_parent_folder(const std::string& who, const std::string& path) {
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (parent.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) throw Error(who + ": cannot create folder '" + parent.string() + "': " + ec.message());
}

}  // namespace plexus::callbacks
