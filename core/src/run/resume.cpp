// plexus train --resume RUN_DIR: the run folder's checkpoint, and the check that the
// experiment is still the one the run started with (only train.epochs may change).
#include <fmt/format.h>

#include <string>
#include <vector>

#include "plexus/error.hpp"
#include "plexus/support/text.hpp"
#include "run_steps.hpp"

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

std::vector<std::string> values(const Experiment& exp, const std::string& key) {
    std::vector<std::string> out;
    for (const auto& s : exp.get_all(key)) out.push_back(s.value);
    return out;
}

/// A value for a one-line message: at most 80 characters of it.
std::string shown(const std::vector<std::string>& v) {
    const std::string all = v.empty() ? "(unset)" : support::join(v, " | ");
    return all.size() <= 80 ? all : all.substr(0, 77) + "...";
}

void check_same_experiment(const Experiment& now, const Experiment& started,
                           const fs::path& run_dir) {
    for (const auto& key : Experiment::known_keys()) {
        if (key == "train.epochs") continue;
        const auto before = values(started, key), after = values(now, key);
        if (before == after) continue;
        const auto setting = now.get(key);
        const std::string where =
            setting ? setting->where : (run_dir / "experiment.ini").string();
        throw ConfigError(fmt::format(
            "{}: {} was '{}' when the run started, now '{}': --resume continues the same "
            "experiment (only --set train.epochs=N may change); start a new run instead",
            where, key, shown(before), shown(after)));
    }
}

}  // namespace

RunCheckpoint resume_checkpoint(const fs::path& run_dir, const Experiment& experiment) {
    std::error_code ec;
    if (!fs::is_directory(run_dir, ec))
        throw DataError(run_dir.string() + ": not a run folder (give runs/NAME-TIME)");
    const fs::path file = run_dir / kCheckpointFile;
    if (!fs::exists(fs::symlink_status(file, ec)))
        throw DataError(file.string() +
                        ": no checkpoint: the run stopped before its first one was written (or "
                        "was trained by a Plexus without --resume); start it again");
    RunCheckpoint checkpoint = read_checkpoint(file);
    check_same_experiment(experiment, Experiment::parse(checkpoint.experiment, file.string()),
                          run_dir);
    if (checkpoint.data_dir.empty() || !checkpoint.data_dir.is_absolute())
        throw DataError(file.string() + ": its data folder '" + checkpoint.data_dir.string() +
                        "' is not an absolute path (the checkpoint is damaged)");
    return checkpoint;
}

void remove_stale_temporaries(const fs::path& run_dir) {
    std::error_code ec;
    std::vector<fs::path> stale;
    for (auto it = fs::recursive_directory_iterator(run_dir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.size() > 1 && name[0] == '.' && name.find(".tmp") != std::string::npos &&
            it->is_regular_file(ec))
            stale.push_back(it->path());
    }
    for (const auto& p : stale) fs::remove(p, ec);
}

}  // namespace plexus::core
