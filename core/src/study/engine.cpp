// The study loop: claim trials from storage up to `parallel` at once, watch their processes
// and channels with poll() (no busy waiting: the trials need the CPU), heartbeat, and record
// each trial's end. Ctrl-C or SIGTERM kills the children and leaves their trials to a later run.
#include "plexus/core/study/engine.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <fstream>
#include <sstream>

#include "plexus/core/experiment/settings.hpp"
#include "plexus/core/study/leaderboard.hpp"
#include "plexus/core/study/study_outputs.hpp"
#include "plexus/error.hpp"
#include "plexus/sampler.hpp"
#include "trial_runner.hpp"

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

std::atomic<bool> g_stop{false};
int g_wake_fd = -1;

extern "C" void on_stop_signal(int) {
    g_stop.store(true);
    if (g_wake_fd >= 0) {
        [[maybe_unused]] const auto n = write(g_wake_fd, "x", 1);
    }
}

/// SIGINT and SIGTERM set g_stop and wake poll() for as long as the loop runs.
class StopSignals {
public:
    StopSignals() {
        if (pipe2(fds_, O_CLOEXEC | O_NONBLOCK) != 0) throw Error("cannot create a pipe");
        g_stop.store(false);
        g_wake_fd = fds_[1];
        struct sigaction sa {};
        sa.sa_handler = on_stop_signal;
        sigaction(SIGINT, &sa, &old_int_);
        sigaction(SIGTERM, &sa, &old_term_);
    }
    ~StopSignals() {
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
        g_wake_fd = -1;
        close(fds_[0]);
        close(fds_[1]);
    }
    int read_fd() const { return fds_[0]; }

private:
    int fds_[2] = {-1, -1};
    struct sigaction old_int_ {
    }, old_term_{};
};

std::string host_name() {
    char buf[256] = {};
    gethostname(buf, sizeof buf - 1);
    return buf;
}

double seconds_since(StudyClock::time_point t) {
    return std::chrono::duration<double>(StudyClock::now() - t).count();
}

class StudyLoop {
public:
    StudyLoop(const StudySpec& spec, const TuneOptions& options, const TrialSetup& setup,
              StudyStorage& storage, Sampler& sampler, Pruner* pruner, std::uint64_t planned,
              std::ostream& out)
        : spec_(spec),
          options_(options),
          setup_(setup),
          storage_(storage),
          sampler_(sampler),
          pruner_(pruner),
          planned_(planned),
          out_(out),
          host_(host_name()),
          worker_(host_ + ":" + std::to_string(getpid())) {
        parallel_ = options.parallel ? options.parallel : std::max<std::uint64_t>(1, spec.parallel);
    }

    StudyEnd run() {
        const StopSignals signals;
        bool plan_open = true;
        auto next_heartbeat = StudyClock::now();
        while (!g_stop.load()) {
            while (plan_open && running_.size() < parallel_ && !g_stop.load()) plan_open = claim();
            draw_status();
            if (running_.empty()) break;
            if (StudyClock::now() >= next_heartbeat) {
                storage_.heartbeat(worker_);
                next_heartbeat = StudyClock::now() + heartbeat_interval();
            }
            wait(signals.read_fd(), next_heartbeat);
        }
        clear_status();
        if (!g_stop.load()) return StudyEnd::done;
        out_ << "interrupted: " << running_.size()
             << " running trial(s) stopped; run the same command again to finish the study\n";
        running_.clear();  // kills and reaps every child; their trials stay `running`
        return StudyEnd::interrupted;
    }

private:
    StudyClock::duration heartbeat_interval() const {
        return std::chrono::duration_cast<StudyClock::duration>(
            std::chrono::duration<double>(options_.heartbeat_seconds));
    }

    bool stale(const TrialRecord& t) const {
        const std::size_t colon = t.worker.rfind(':');
        const std::string host = t.worker.substr(0, colon);
        pid_t pid = 0;
        const char* p = t.worker.data() + colon + 1;
        const bool parsed =
            colon != std::string::npos &&
            std::from_chars(p, t.worker.data() + t.worker.size(), pid).ec == std::errc();
        if (parsed && host == host_) {
            if (pid == getpid())  // ours, or an earlier process's that had the same pid
                return std::none_of(running_.begin(), running_.end(),
                                    [&](const auto& r) { return r->record.id == t.id; });
            if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) return true;
        }
        return t.heartbeat_age > std::max(60.0, 6.0 * options_.heartbeat_seconds);
    }

    /// Claims and starts one trial; false when the plan has no trial left to start.
    bool claim() {
        const auto record = storage_.claim(
            planned_, worker_, [this](const TrialRecord& t) { return stale(t); },
            [this](const std::vector<TrialRecord>& history, std::uint64_t number) {
                return sampler_.suggest(spec_.space, trial_views(history, spec_.maximize),
                                        {spec_.seed, number});
            });
        if (!record) return false;
        try {
            running_.push_back(start_trial(setup_, *record));
        } catch (const std::exception& e) {  // a folder or process the system refused
            storage_.finish(record->id, TrialState::failed, std::nullopt, 0,
                            std::string("could not start: ") + e.what(), "");
            report_finished(record->id);
        }
        return true;
    }

    void wait(int wake_fd, StudyClock::time_point next_heartbeat) {
        std::vector<pollfd> fds{{wake_fd, POLLIN, 0}};
        auto until = next_heartbeat;
        for (const auto& r : running_) {
            fds.push_back({r->process->exit_fd(), POLLIN, 0});
            const bool listen = r->channel && !r->channel->closed() && r->kill_reason.empty();
            fds.push_back({listen ? r->channel->fd() : -1, POLLIN, 0});
            if (r->kill_reason.empty()) until = std::min(until, r->deadline);
        }
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - StudyClock::now())
                .count();
        const int n =
            poll(fds.data(), fds.size(), static_cast<int>(std::clamp<long long>(ms + 1, 0, 60000)));
        if (n < 0 && errno != EINTR) throw Error("poll failed while waiting for trials");
        char drain[64];
        while (read(wake_fd, drain, sizeof drain) > 0) {
        }
        for (std::size_t i = 0; i < running_.size();) {
            RunningTrial& r = *running_[i];
            const pollfd &exit_fd = fds[1 + 2 * i], &channel_fd = fds[2 + 2 * i];
            if (channel_fd.fd >= 0 && channel_fd.revents) {
                handle_channel(r, storage_, pruner_, spec_);
                draw_status();
            }
            if (r.kill_reason.empty() && StudyClock::now() >= r.deadline) {
                r.kill_reason = fmt::format("timeout after {:g} s", spec_.timeout);
                r.process->kill();
            }
            if (exit_fd.revents) {
                if (const auto exit = r.process->try_wait()) {
                    finish(i, *exit);
                    fds.erase(fds.begin() + 1 + 2 * i, fds.begin() + 3 + 2 * i);
                    continue;
                }
            }
            ++i;
        }
    }

    void finish(std::size_t index, const TrialExit& exit) {
        std::unique_ptr<RunningTrial> trial = std::move(running_[index]);
        running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(index));
        // What the child sent just before it ended is still in the channel.
        for (int i = 0; trial->channel && !trial->channel->closed() && i < 64; ++i) {
            if (!trial->kill_reason.empty()) break;
            handle_channel(*trial, storage_, pruner_, spec_);
        }
        const TrialOutcome o = conclude_trial(*trial, exit, spec_);
        storage_.finish(trial->record.id, o.state, o.value, trial->reported.size(), o.reason,
                        o.log_tail);
        report_finished(trial->record.id);
        if (trial->objective_missing)
            throw ConfigError(spec_.file.string() + ": objective '" + spec_.objective +
                              "' is never logged by " + spec_.experiment.string() + " (logged: " +
                              trial->missing_names + "); set [study] objective to one of them");
    }

    void report_finished(std::int64_t id) {
        ++finished_here_;
        const std::vector<TrialRecord> all = storage_.trials();
        const auto it =
            std::find_if(all.begin(), all.end(), [&](const TrialRecord& t) { return t.id == id; });
        if (it == all.end()) return;
        std::uint64_t done = 0;
        for (const auto& t : all)
            if (t.state != TrialState::running && !t.rerun) ++done;
        const double per_trial = seconds_since(started_) / static_cast<double>(finished_here_);
        const double eta = done < planned_ ? per_trial * static_cast<double>(planned_ - done) : -1;
        clear_status();
        out_ << progress_line(spec_, planned_, *it, all, eta) << std::endl;
        if (const auto best = best_trial(all, spec_.maximize))
            best_text_ = fmt::format("best {:.4f} (#{})", *all[*best].value, all[*best].number);
        done_ = done;
    }

    /// The live line: "running #7 3/10 0.8532, #8 1/10 | 6/30 done, best 0.8890 (#3)".
    void draw_status() {
        if (!options_.live || running_.empty()) return;
        std::string line = "running";
        for (const auto& r : running_) {
            line += fmt::format(" #{}", r->record.number);
            if (!r->reported.empty())
                line += fmt::format(" {}/{} {:.4f}", r->reported.back().first, r->max_epochs,
                                    r->reported.back().second);
            line += ",";
        }
        if (line.back() == ',') line.back() = ' ';
        line += fmt::format("| {}/{} done{}", done_, planned_,
                            best_text_.empty() ? "" : ", " + best_text_);
        // A line wider than the terminal would wrap, and \r would no longer reach its start.
        if (line.size() > 100) line = line.substr(0, 97) + "...";
        out_ << "\r\033[K" << line << std::flush;
        status_drawn_ = true;
    }
    void clear_status() {
        if (status_drawn_) out_ << "\r\033[K";
        status_drawn_ = false;
    }

    const StudySpec& spec_;
    const TuneOptions& options_;
    const TrialSetup& setup_;
    StudyStorage& storage_;
    Sampler& sampler_;
    Pruner* pruner_;
    std::uint64_t planned_, parallel_ = 1;
    std::ostream& out_;
    std::string host_, worker_;
    std::vector<std::unique_ptr<RunningTrial>> running_;
    StudyClock::time_point started_ = StudyClock::now();
    std::uint64_t finished_here_ = 0, done_ = 0;
    std::string best_text_;
    bool status_drawn_ = false;
};

void prepare_folder(const StudySpec& spec) {
    std::error_code ec;
    if (fs::exists(spec.dir, ec) && !fs::is_directory(spec.dir, ec))
        throw ConfigError(spec.dir.string() +
                          ": the study folder is a file; move it away or "
                          "set [study] name to another name");
    fs::create_directories(spec.dir / "trials", ec);
    if (ec)
        throw ConfigError(spec.dir.string() + ": cannot create the study folder: " + ec.message());
}

}  // namespace

std::uint64_t trial_max_epochs(const StudySpec& spec, const std::string& base_text,
                               const std::vector<double>& params) {
    if (!spec.command.empty()) return 0;
    try {
        const Experiment exp =
            Experiment::parse(substitute(base_text, spec.space, params), spec.experiment.string());
        return read_settings(exp).train.epochs;
    } catch (const Error&) {
        return 0;
    }
}

StudyEnd run_study(const StudySpec& spec, const TuneOptions& options, std::ostream& out) {
    const Registry registry(options.registry);
    const auto sampler = registry.create_as<Sampler>(spec.sampler, spec.file.string());
    const auto pruner = spec.pruner == "none"
                            ? nullptr
                            : registry.create_as<Pruner>(spec.pruner, spec.file.string());
    std::uint64_t planned = options.trials ? options.trials : spec.trials;
    try {  // the sampler's complaint is about the study file's [space]
        sampler->check(spec.space);
        if (planned == 0) planned = sampler->size(spec.space);
    } catch (const ConfigError& e) {
        throw ConfigError(spec.file.string() + ": " + e.what());
    }
    if (planned == 0)
        throw ConfigError(spec.file.string() +
                          ": how many trials? set [study] trials = N (or "
                          "pass --trials N)");

    TrialSetup setup{spec, "", options.program, options.trial_args};
    if (spec.command.empty()) {
        setup.base_text = read_small_text(spec.experiment, "the study's base experiment");
        check_placeholders(setup.base_text, spec, spec.experiment.string());
    } else {
        check_placeholders(spec.command, spec, spec.file.string());
    }
    prepare_folder(spec);
    const auto storage =
        open_storage(options.storage.value_or(spec.storage), spec.dir / "study.db");
    storage->open(spec.name, spec.definition(), spec.file.string());

    out << "study " << spec.name << ": " << planned << " trials, " << spec.sampler
        << " sampler, pruner " << spec.pruner << ", objective " << spec.objective << " ("
        << (spec.maximize ? "maximize" : "minimize") << ") -> " << spec.dir.string() << std::endl;
    StudyLoop loop(spec, options, setup, *storage, *sampler, pruner.get(), planned, out);
    if (loop.run() == StudyEnd::interrupted) return StudyEnd::interrupted;
    return write_study_outputs({spec, *storage, registry, setup.base_text}, out);
}

}  // namespace plexus::core
