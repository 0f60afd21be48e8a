#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include "commands.hpp"
#include "plexus/core/experiment/keys.hpp"
#include "plexus/core/run/run.hpp"
#include "plexus/core/study/trial_channel.hpp"
#include "plexus/core/training/interrupt.hpp"
#include "plexus/support/files.hpp"
#include "plexus/support/text.hpp"

namespace po = boost::program_options;

namespace plexus::app {

namespace {

/// The ranks other than rank 0 write no file and print nothing but their errors; each rank
/// takes an equal share of its host's cores unless OPENBLAS_NUM_THREADS says otherwise.
void start_rank(const core::Communicator& ranks) {
    if (ranks.rank() != 0) {
        core::discard_file_writes();
        std::cout.flush();
        if (const int null = ::open("/dev/null", O_WRONLY); null >= 0) {
            ::dup2(null, STDOUT_FILENO);
            ::close(null);
        }
    }
    const std::size_t threads =
        core::threads_per_rank(std::thread::hardware_concurrency(), ranks.local_size());
    if (threads) ::setenv("OPENBLAS_NUM_THREADS", std::to_string(threads).c_str(), 0);
}

int train(const po::variables_map& vm, core::Communicator* ranks = nullptr) {
    const bool resume = vm.count("resume") > 0;
    if (resume && vm.count("experiment"))
        throw po::error("give either EXP.ini or --resume RUN_DIR (a resumed run trains the "
                        "experiment in RUN_DIR/experiment.ini)");
    if (resume && vm.count("trial-dir")) throw po::error("--resume does not resume study trials");
    if (!resume && !vm.count("experiment"))
        throw po::error("missing the experiment file (plexus train EXP.ini)");

    auto experiment = core::Experiment::load(
        resume ? (std::filesystem::path(vm["resume"].as<std::string>()) / "experiment.ini")
               : std::filesystem::path(vm["experiment"].as<std::string>()));
    if (vm.count("set"))
        for (const auto& s : vm["set"].as<std::vector<std::string>>()) experiment.apply_override(s);
    if (vm.count("device"))
        experiment.set("train.device", vm["device"].as<std::string>(), "--device");
    if (vm.count("seed")) {
        experiment.set("data.seed", vm["seed"].as<std::string>(), "--seed");
        experiment.set("train.seed", vm["seed"].as<std::string>(), "--seed");
    }
    core::RunOptions options;
    options.registry = registry_options(vm);
    options.out_dir = vm["out"].as<std::string>();
    if (vm.count("trial-dir")) {
        options.run_dir = vm["trial-dir"].as<std::string>();
        options.skip_test = true;
        options.checkpoints = false;  // a killed trial is re-run by the study, not resumed
    }
    if (resume) {
        options.run_dir = vm["resume"].as<std::string>();
        options.resume = true;
    }
    options.communicator = ranks;
    if (vm.count("trial-channel") != vm.count("trial-objective"))
        throw po::error("--trial-channel and --trial-objective go together");
    if (vm.count("trial-channel"))
        options.callbacks.push_back(std::make_shared<core::TrialReporter>(
            vm["trial-channel"].as<int>(), vm["trial-objective"].as<std::string>()));
    core::install_interrupt_handler();
    const auto result = core::run_experiment(experiment, options, std::cout);
    // The shell's convention for a process a signal stopped: 128 + the signal.
    if (result.ended == "interrupted") return 128 + SIGINT;
    if (result.ended == "terminated") return 128 + SIGTERM;
    return 0;
}

}  // namespace

int cmd_train(const std::vector<std::string>& args) {
    po::options_description desc(
        "usage: plexus train EXP.ini [options]\n"
        "       plexus train --resume RUN_DIR [--set train.epochs=N]\n\n"
        "Trains the model described by an experiment file and writes runs/<name>-<time>/\n"
        "(experiment.ini, history.csv, model.safetensors, metrics.json, report.html and\n"
        "resume.safetensors, a checkpoint taken after every epoch). Ctrl-C or SIGTERM stops\n"
        "at the next step and completes the folder; --resume continues a stopped or killed\n"
        "run from its last checkpoint exactly as if it had never stopped. Under mpirun -np N\n"
        "(or srun) N ranks train one model on shares of every batch; rank 0 writes the run.\n\n"
        "options");
    desc.add_options()("help,h", "show this help")(
        "help-keys", po::value<std::string>()->implicit_value("text"),
        "list every experiment file key (type, default, doc); =markdown for the README's table")(
        "set", po::value<std::vector<std::string>>()->composing(),
        "override a setting, e.g. --set train.epochs=2 (repeatable; for a list key such as "
        "model.layer the first replaces the file's list, later ones append)")(
        "device", po::value<std::string>(), "device plugin to train on (sets train.device)")(
        "seed", po::value<std::string>(), "seed for splits, shuffling and initialisation")(
        "out", po::value<std::string>()->default_value("runs"), "folder for run directories")(
        "resume", po::value<std::string>(),
        "continue the run in RUN_DIR from its last checkpoint (the experiment may only change "
        "in train.epochs)");
    add_plugin_options(desc);
    // What `plexus tune` passes to a trial: not for users, so not in --help.
    po::options_description trial;
    trial.add_options()("trial-dir", po::value<std::string>(), "exact run folder, no test set")(
        "trial-channel", po::value<int>(), "descriptor of the study's channel")(
        "trial-objective", po::value<std::string>(), "the logged value reported each epoch");
    po::variables_map vm;
    if (!parse_command(args, desc, "experiment", vm, &trial)) return 0;
    if (vm.count("help-keys")) {
        const std::string format = vm["help-keys"].as<std::string>();
        if (format != "text" && format != "markdown")
            throw po::error("--help-keys takes text or markdown, found '" + format + "'");
        std::cout << (format == "text" ? core::experiment_keys_text()
                                       : core::experiment_keys_markdown());
        return 0;
    }
    // Under mpirun or srun: this process is one rank of the run (communicator.hpp).
    const std::unique_ptr<core::Communicator> ranks = core::connect_communicator();
    if (ranks->size() == 1) return train(vm);
    start_rank(*ranks);
    try {
        return train(vm, ranks.get());  // every rank stops at the same step, for one reason
    } catch (const std::exception& e) {
        // One line naming the rank, then the whole run ends: no rank waits for this one. One
        // write (std::cerr writes each << at once): mpirun forwards every write as it comes,
        // and its abort banner must not land inside the line.
        std::cerr << ("plexus: error: " + ranks->where() + ": " +
                      support::printable(e.what(), 900) + "\n")
                  << std::flush;
        ranks->abort(1);
    }
    return 1;  // not reached: abort() ends the process
}

}  // namespace plexus::app
