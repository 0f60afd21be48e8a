// plexus tune STUDY.ini: runs or resumes a hyperparameter study.
#include <unistd.h>

#include <iostream>

#include "commands.hpp"
#include "plexus/core/study/engine.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace plexus::app {
namespace {

std::uint64_t positive(const po::variables_map& vm, const char* name) {
    if (!vm.count(name)) return 0;
    const long long v = vm[name].as<long long>();
    if (v < 1 || v > 1000000)
        throw po::error(std::string("--") + name + " must be in [1, 1000000], found " +
                        std::to_string(v));
    return static_cast<std::uint64_t>(v);
}

}  // namespace

int cmd_tune(const std::vector<std::string>& args) {
    po::options_description desc(
        "usage: plexus tune STUDY.ini [--trials N] [--parallel N] [--storage URL]\n\n"
        "Runs a hyperparameter study: each trial trains the study's experiment with sampled\n"
        "values in a child process (or runs its command). The study folder next to the file\n"
        "holds study.db, trials/NNNN/, leaderboard.csv and best.ini. Run the same command again\n"
        "after an interruption to finish the study.\n\noptions");
    desc.add_options()("help,h", "show this help")("trials", po::value<long long>(),
                                                   "number of trials (overrides [study] trials)")(
        "parallel", po::value<long long>(), "trials at once on this machine")(
        "storage", po::value<std::string>(),
        "sqlite:PATH or postgresql://... (overrides [study] storage)");
    add_plugin_options(desc);
    po::variables_map vm;
    if (!parse_command(args, desc, "study", vm)) return 0;
    if (!vm.count("study")) throw po::error("missing the study file (plexus tune STUDY.ini)");

    const core::StudySpec spec = core::load_study(vm["study"].as<std::string>());
    core::TuneOptions options;
    options.registry = registry_options(vm);
    options.trials = positive(vm, "trials");
    options.parallel = positive(vm, "parallel");
    if (vm.count("storage")) options.storage = vm["storage"].as<std::string>();
    options.live = isatty(STDOUT_FILENO) != 0;
    for (const auto& p : options.registry.plugin_paths) {
        options.trial_args.push_back("--plugin-path");
        options.trial_args.push_back(fs::absolute(p).string());
    }
    if (options.registry.allow_insecure) options.trial_args.push_back("--allow-insecure-plugins");
    switch (core::run_study(spec, options, std::cout)) {
        case core::StudyEnd::done:
            return 0;
        case core::StudyEnd::interrupted:
            return 130;
        case core::StudyEnd::test_failed:
            return 1;
    }
    return 1;
}

}  // namespace plexus::app
