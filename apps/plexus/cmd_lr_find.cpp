// plexus lr-find EXP.ini: the learning-rate range test (core/run/lr_find.hpp).
#include <iostream>
#include <optional>

#include "commands.hpp"
#include "plexus/core/run/lr_find.hpp"
#include "plexus/core/training/interrupt.hpp"

namespace po = boost::program_options;

namespace plexus::app {

int cmd_lr_find(const std::vector<std::string>& args) {
    po::options_description desc(
        "usage: plexus lr-find EXP.ini [options]\n\n"
        "The learning-rate range test: trains one pass over the training split with the rate\n"
        "growing exponentially from --start to --end, stops when the smoothed loss diverges,\n"
        "and suggests a rate. Writes lr_find.csv and lr_find.svg; saves no weights and never\n"
        "evaluates on the test split.\n\noptions");
    desc.add_options()("help,h", "show this help")(
        "start", po::value<double>()->default_value(1e-7, "1e-7"), "rate of the first batch")(
        "end", po::value<double>()->default_value(10.0, "10"), "rate of the last batch")(
        "steps", po::value<std::size_t>(),
        "batches (default: min(100, batches in one pass); at least 2)")(
        "set", po::value<std::vector<std::string>>()->composing(),
        "override a setting, e.g. --set data.train_limit=5000 (repeatable)")(
        "out", po::value<std::string>(),
        "folder for lr_find.csv and lr_find.svg (default: runs/<name>-lr-find-<time>/)");
    add_plugin_options(desc);
    po::variables_map vm;
    if (!parse_command(args, desc, "experiment", vm)) return 0;
    if (!vm.count("experiment"))
        throw po::error("missing the experiment file (plexus lr-find EXP.ini)");

    core::LrFindOptions options;
    options.registry = registry_options(vm);
    options.start = vm["start"].as<double>();
    options.end = vm["end"].as<double>();
    if (vm.count("steps")) {
        options.steps = vm["steps"].as<std::size_t>();
        if (options.steps < 2) throw po::error("--steps must be at least 2");
    }
    if (vm.count("out")) options.out_dir = vm["out"].as<std::string>();
    auto experiment = core::Experiment::load(vm["experiment"].as<std::string>());
    if (vm.count("set"))
        for (const auto& s : vm["set"].as<std::vector<std::string>>()) experiment.apply_override(s);
    core::install_interrupt_handler();
    core::lr_find(experiment, options, std::cout);
    return 0;
}

}  // namespace plexus::app
