// The `plexus` command: plugins, train, --version. Every error ends as one line on stderr
// and a non-zero exit.
#include <malloc.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "plexus/error.hpp"
#include "plexus/export.hpp"
#include "plexus/support/text.hpp"

namespace po = boost::program_options;

namespace {

const char* kUsage =
    "usage: plexus <command> [options]\n"
    "\n"
    "commands:\n"
    "  plugins [NAME]   list the plugins found, or show one component's parameters\n"
    "  devices          list every device of every device plugin (opencl:0, ...);\n"
    "                   --check NAME runs the conformance table against the cpu device\n"
    "  train EXP.ini    train the model an experiment file describes (--help-keys: every key)\n"
    "  lr-find EXP.ini  learning-rate range test: the loss against a growing rate, a suggestion\n"
    "  evaluate MODEL   metrics, classification report and confusion matrix on data\n"
    "  predict MODEL    run a trained model on data and write predictions.csv\n"
    "  diagnose RUN     underfitting, overfitting or the learning rate, and what to try\n"
    "  report RUN       write RUN/report.html (learning curves, confusion matrix, diagnosis)\n"
    "  tune STUDY.ini   run a hyperparameter study: trials as child processes, resumable\n"
    "  study DIR        print the leaderboard of a study\n"
    "  ensemble MODEL.. evaluate models and their ensemble on data; --out saves it\n"
    "  export MODEL     write a trained model and its input transforms as ONNX (--onnx FILE)\n"
    "\n"
    "options:\n"
    "  --version        print the version and exit\n"
    "  -h, --help       this help; `plexus <command> --help` for a command's options\n";

// An error is one line of at most 1000 bytes (with the "plexus: error: " before it), whatever
// text from a file or the command line it quotes: the last guard, after every reader has
// bounded and escaped what it echoes.
std::string shown(std::string_view text, std::size_t max_bytes = 960) {
    return plexus::support::printable(text, max_bytes);
}

}  // namespace

int main(int argc, char** argv) {
    // Large freed blocks stay with the process for the next allocation of that size, instead
    // of going back to the kernel and coming back as fresh pages: glibc maps every block above
    // its mmap threshold (128 KiB at first) on its own, and first touching those pages cost
    // 15-50 µs per 4 KiB page on the development machine (a virtual machine), e.g. 14 ms for
    // each epoch's 3.7 MB checkpoint of model (a). Blocks of 64 MiB or more are still mapped
    // on their own; the heap gives back what is free above 256 MiB. Measured: `plexus train`
    // of model (a), 3 epochs, wall over training 1.18x -> 1.16x (6 alternated pairs); peak RSS
    // 107 -> 108 MB, model (c) 544 -> 564 MB (bench/README.md, session 14). GLIBC_TUNABLES,
    // when set, decides instead.
    if (!std::getenv("GLIBC_TUNABLES")) {
        ::mallopt(M_MMAP_THRESHOLD, 64 << 20);
        ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
    }
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        std::cerr << kUsage;
        return 2;
    }
    const std::string command = args[0];
    args.erase(args.begin());
    try {
        if (command == "--version" || command == "version") {
            std::cout << "plexus " PLEXUS_VERSION_STRING " (plugin ABI " << PLEXUS_ABI_VERSION
                      << ", " PLEXUS_BUILD_TAG ")\n";
            return 0;
        }
        if (command == "-h" || command == "--help" || command == "help") {
            std::cout << kUsage;
            return 0;
        }
        if (command == "plugins") return plexus::app::cmd_plugins(args);
        if (command == "devices") return plexus::app::cmd_devices(args);
        if (command == "train") return plexus::app::cmd_train(args);
        if (command == "lr-find") return plexus::app::cmd_lr_find(args);
        if (command == "predict") return plexus::app::cmd_predict(args);
        if (command == "evaluate") return plexus::app::cmd_evaluate(args);
        if (command == "diagnose") return plexus::app::cmd_diagnose(args);
        if (command == "report") return plexus::app::cmd_report(args);
        if (command == "tune") return plexus::app::cmd_tune(args);
        if (command == "study") return plexus::app::cmd_study(args);
        if (command == "ensemble") return plexus::app::cmd_ensemble(args);
        if (command == "export") return plexus::app::cmd_export(args);
        std::cerr << "plexus: unknown command " << plexus::support::quote_for_message(command, 80)
                  << " (commands: plugins, devices, train, evaluate, predict, diagnose, report, "
                     "tune, study, ensemble, export; "
                     "see plexus --help)\n";
        return 2;
    } catch (const po::error& e) {
        std::cerr << "plexus " << shown(command) << ": " << shown(e.what()) << " (see plexus "
                  << shown(command) << " --help)\n";
        return 2;
    } catch (const plexus::Error& e) {
        std::cerr << ("plexus: error: " + shown(e.what()) + "\n");  // one write: one line
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "plexus: internal error: " << shown(e.what()) << "\n";
        return 3;
    }
}
