// One trial: its folder, its child process, what it reports, and how it ended.
#include "trial_runner.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <fstream>

#include "plexus/core/study/engine.hpp"
#include "plexus/error.hpp"
#include "plexus/support/files.hpp"
#include "plexus/support/text.hpp"

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

constexpr std::size_t kTailLines = 20;

/// The last `n` lines of a file (at most 64 KiB of it is read).
std::vector<std::string> tail_lines(const fs::path& file, std::size_t n) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return {};
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    const std::streamoff start = std::max<std::streamoff>(0, size - 65536);
    in.seekg(start);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> lines;
    for (auto& line : support::split(text, '\n')) {
        // A progress bar redraws with carriage returns: keep what the line ended as.
        const auto cr = line.find_last_of('\r', line.size() > 1 ? line.size() - 2 : 0);
        std::string kept = support::trim(cr == std::string::npos ? line : line.substr(cr + 1));
        if (!kept.empty()) lines.push_back(kept.substr(0, 500));
    }
    if (start > 0 && !lines.empty()) lines.erase(lines.begin());  // cut mid-line
    if (lines.size() > n) lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(n));
    return lines;
}

std::string joined_tail(const fs::path& file) {
    return support::join(tail_lines(file, kTailLines), "\n");
}

std::string last_line(const fs::path& file) {
    const auto lines = tail_lines(file, 1);
    return lines.empty() ? std::string("(no output)") : lines.back();
}

bool better(double a, double b, bool maximize) {
    return maximize ? a > b : a < b;
}

}  // namespace

std::vector<TrialView> trial_views(const std::vector<TrialRecord>& trials, bool maximize) {
    std::vector<TrialView> views;
    views.reserve(trials.size());
    const double sign = maximize ? -1.0 : 1.0;
    for (const auto& t : trials) {
        TrialView v;
        v.number = t.number;
        v.state = t.state;
        v.params = t.params;
        if (t.state == TrialState::complete && t.value) v.value = sign * *t.value;
        for (const auto& [step, value] : t.intermediate)
            v.intermediate.emplace_back(step, sign * value);
        views.push_back(std::move(v));
    }
    return views;
}

std::unique_ptr<RunningTrial> start_trial(const TrialSetup& setup, const TrialRecord& record) {
    const StudySpec& spec = setup.spec;
    auto trial = std::make_unique<RunningTrial>();
    trial->record = record;
    trial->dir = spec.trial_dir(record.number);
    std::error_code ec;
    fs::remove_all(trial->dir, ec);  // a trial number is claimed once; leftovers are a re-run's
    fs::create_directories(trial->dir, ec);
    if (ec) throw Error(trial->dir.string() + ": cannot create the trial folder: " + ec.message());

    TrialCommand command;
    command.stderr_file = trial->dir / "log.txt";
    if (spec.command.empty()) {
        const fs::path experiment = trial->dir / "experiment.ini";
        support::write_file_atomic(
            experiment,
            relocate_experiment(substitute(setup.base_text, spec.space, record.params),
                                fs::absolute(spec.experiment).parent_path(), trial->dir));
        trial->max_epochs = trial_max_epochs(spec, setup.base_text, record.params);
        const ChannelPair pair = make_channel_pair();
        trial->channel = std::make_unique<ChannelReader>(pair.parent);
        command.argv = {setup.program.string(),
                        "train",
                        experiment.string(),
                        "--trial-dir",
                        trial->dir.string(),
                        "--trial-channel",
                        "3",
                        "--trial-objective",
                        spec.objective};
        command.argv.insert(command.argv.end(), setup.trial_args.begin(), setup.trial_args.end());
        command.stdout_file = command.stderr_file;
        command.channel_fd = pair.child;
        try {
            trial->process = std::make_unique<TrialProcess>(command);
        } catch (...) {
            ::close(pair.child);
            throw;
        }
        ::close(pair.child);
    } else {
        command.argv = {"/bin/sh", "-c", substitute(spec.command, spec.space, record.params, true)};
        command.stdout_file = trial->dir / "output.txt";
        command.cwd = fs::absolute(spec.file).parent_path();
        trial->process = std::make_unique<TrialProcess>(command);
    }
    if (spec.timeout > 0)
        trial->deadline = StudyClock::now() + std::chrono::duration_cast<StudyClock::duration>(
                                                  std::chrono::duration<double>(spec.timeout));
    return trial;
}

void handle_channel(RunningTrial& trial, StudyStorage& storage, Pruner* pruner,
                    const StudySpec& spec) {
    for (const std::string& line : trial.channel->read_lines()) {
        if (!trial.kill_reason.empty()) return;
        const ChannelMessage m = parse_channel_message(line);
        if (m.kind == ChannelMessage::Kind::epoch && std::isfinite(m.value) &&
            (trial.reported.empty() || m.epoch > trial.reported.back().first)) {
            storage.report(trial.record.id, m.epoch, m.value);
            trial.reported.emplace_back(m.epoch, m.value);
            trial.record.intermediate.emplace_back(m.epoch, m.value);
            bool prune = false;
            if (pruner) {
                const double sign = spec.maximize ? -1.0 : 1.0;
                prune = pruner->should_prune(
                    {trial.record.number, m.epoch, sign * m.value, trial.max_epochs},
                    trial_views(storage.trials(), spec.maximize));
            }
            trial.prune_sent = prune;
            if (!trial.channel->send(prune ? "prune" : "continue")) return;  // its exit follows
            continue;
        }
        if (m.kind == ChannelMessage::Kind::epoch && !std::isfinite(m.value))
            trial.kill_reason =
                fmt::format("diverged at epoch {} ({} {})", m.epoch, spec.objective, m.value);
        else if (m.kind == ChannelMessage::Kind::diverged)
            trial.kill_reason = fmt::format("diverged at epoch {} (loss not finite)", m.epoch);
        else if (m.kind == ChannelMessage::Kind::missing) {
            trial.objective_missing = true;
            trial.missing_names = m.text;
            trial.kill_reason =
                "objective '" + spec.objective + "' not logged (logged: " + m.text + ")";
        } else
            trial.kill_reason = "bad message from the trial: '" + line.substr(0, 200) + "'";
        trial.process->kill();
    }
}

TrialOutcome conclude_trial(const RunningTrial& trial, const TrialExit& exit,
                            const StudySpec& spec) {
    TrialOutcome o;
    const fs::path log = trial.dir / "log.txt", output = trial.dir / "output.txt";
    o.log_tail = joined_tail(log);
    if (!spec.command.empty() && o.log_tail.empty()) o.log_tail = joined_tail(output);
    if (!trial.kill_reason.empty()) {
        o.reason = trial.kill_reason;
    } else if (exit.signaled) {
        o.reason = "crashed: " + exit.describe();
    } else if (exit.code != 0) {
        std::error_code ec;
        const bool log_empty = fs::file_size(log, ec) == 0 || ec;
        o.reason =
            exit.describe() + ": " + last_line(spec.command.empty() || !log_empty ? log : output);
    } else if (!spec.command.empty()) {
        const std::string line = last_line(output);
        double value = 0.0;
        const auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), value);
        if (ec == std::errc() && ptr == line.data() + line.size() && std::isfinite(value)) {
            o.state = TrialState::complete;
            o.value = value;
        } else {
            o.reason = "the command's last line is not a finite number: '" + line + "'";
        }
    } else if (trial.prune_sent) {
        o.state = TrialState::pruned;
        o.reason = fmt::format("pruned at epoch {}", trial.reported.back().first);
    } else if (trial.reported.empty()) {
        o.reason = "no epoch finished: " + last_line(log);
    } else {
        // KerasTuner's rule: a trial is worth its best epoch, not its last.
        double best = trial.reported.front().second;
        for (const auto& [epoch, v] : trial.reported)
            if (better(v, best, spec.maximize)) best = v;
        o.state = TrialState::complete;
        o.value = best;
    }
    return o;
}

}  // namespace plexus::core
