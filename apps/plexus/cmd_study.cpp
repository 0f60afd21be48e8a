// plexus study DIR|STUDY.ini: the leaderboard of an existing study.
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "plexus/core/study/study_outputs.hpp"
#include "plexus/error.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace plexus::app {

fs::path study_file_of(const fs::path& dir) {
    const fs::path folder = fs::absolute(dir).lexically_normal();
    const fs::path want = folder.has_filename() ? folder : folder.parent_path();
    for (const auto& entry : fs::directory_iterator(want.parent_path())) {
        if (entry.path().extension() != ".ini" || !entry.is_regular_file()) continue;
        try {
            const core::StudySpec spec = core::load_study(entry.path());
            if (fs::absolute(spec.dir).lexically_normal() == want) return entry.path();
        } catch (const Error&) {  // an experiment file, or another broken study
        }
    }
    throw ConfigError(dir.string() +
                      ": no study file beside it names this folder (run plexus "
                      "study STUDY.ini)");
}

int cmd_study(const std::vector<std::string>& args) {
    po::options_description desc(
        "usage: plexus study DIR|STUDY.ini [--storage URL]\n\n"
        "Prints the leaderboard of a study (and its best trial's test metrics once measured).\n"
        "\noptions");
    desc.add_options()("help,h", "show this help")("storage", po::value<std::string>(),
                                                   "sqlite:PATH or postgresql://...");
    add_plugin_options(desc);
    po::variables_map vm;
    if (!parse_command(args, desc, "study", vm)) return 0;
    if (!vm.count("study")) throw po::error("missing the study folder (plexus study DIR)");
    const fs::path arg = vm["study"].as<std::string>();
    const fs::path file = fs::is_directory(arg) ? study_file_of(arg) : arg;
    const core::StudySpec spec = core::load_study(file);
    const std::string url = vm.count("storage") ? vm["storage"].as<std::string>() : spec.storage;
    if (!fs::exists(spec.dir / "study.db") && url.empty())
        throw ConfigError(spec.dir.string() + ": no study here yet (run plexus tune " +
                          file.string() + ")");
    const auto storage = core::open_storage(url, spec.dir / "study.db");
    storage->open(spec.name, spec.definition(), spec.file.string());
    const core::Registry registry(registry_options(vm));
    std::string base_text;
    if (spec.command.empty()) {
        std::ifstream in(spec.experiment, std::ios::binary);
        base_text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    core::print_study({spec, *storage, registry, base_text}, std::cout);
    return 0;
}

}  // namespace plexus::app
