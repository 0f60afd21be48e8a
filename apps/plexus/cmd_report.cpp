#include <iostream>

#include "commands.hpp"
#include "plexus/core/reporting/diagnose.hpp"
#include "plexus/core/reporting/report.hpp"
#include "plexus/core/reporting/summaries.hpp"
#include "plexus/core/run/run_record.hpp"

namespace po = boost::program_options;

namespace plexus::app {
namespace {

core::Diagnosis diagnose_run(const core::RunRecord& run) {
    const auto& m = run.metrics;
    const std::string stop = m.contains("stop_reason") && m["stop_reason"].is_string()
                                 ? m["stop_reason"].get<std::string>()
                                 : std::string();
    core::DiagnoseOptions options;
    options.regression = m.contains("task") && m["task"] == "regression";
    // The class count for the chance level of a collapse; without it the curves tell.
    if (m.contains("class_names") && m["class_names"].is_array() && !options.regression)
        options.classes = m["class_names"].size();
    return core::diagnose(run.history, stop, options);
}

const core::RunRecord read_run_arg(const std::vector<std::string>& args, const char* usage,
                                   bool& help_only) {
    po::options_description desc(usage);
    desc.add_options()("help,h", "show this help");
    po::variables_map vm;
    help_only = !parse_command(args, desc, "run", vm);
    if (help_only) return {};
    if (!vm.count("run"))
        throw po::error("missing the run folder (e.g. runs/fashion_mlp-20261122-101500)");
    return core::read_run(vm["run"].as<std::string>());
}

}  // namespace

int cmd_diagnose(const std::vector<std::string>& args) {
    bool help_only = false;
    const auto run =
        read_run_arg(args,
                     "usage: plexus diagnose RUN_DIR\n\n"
                     "Reads a run's history and says whether the model underfits, overfits or\n"
                     "has a learning-rate problem, with the evidence and what to try\n"
                     "(thresholds: docs/diagnosis.md).\n\noptions",
                     help_only);
    if (help_only) return 0;
    std::cout << diagnose_run(run).to_text();
    return 0;
}

int cmd_report(const std::vector<std::string>& args) {
    bool help_only = false;
    const auto run =
        read_run_arg(args,
                     "usage: plexus report RUN_DIR\n\n"
                     "Writes RUN_DIR/report.html: learning curves, confusion matrix, per-class\n"
                     "metrics (a regression run: the regression report, predicted against true\n"
                     "values and the residuals), the diagnosis and the experiment, in one\n"
                     "self-contained file.\n\noptions",
                     help_only);
    if (help_only) return 0;
    const core::Diagnosis diagnosis = diagnose_run(run);
    const auto file = run.dir / "report.html";
    core::write_report(file, core::report_data(run, core::diagnosis_lines(diagnosis)));
    std::cout << "report: " << file.string() << "\n";
    return 0;
}

}  // namespace plexus::app
