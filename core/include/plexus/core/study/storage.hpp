// Where a study keeps its trials: SQLite by default (one file in the study folder, WAL mode),
// PostgreSQL for workers on several machines. Several `plexus tune` processes may share one
// study; every change is a transaction, and claiming a trial is atomic, so no trial is
// created twice and a grid is enumerated exactly once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "plexus/study.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// One trial as stored. Values are the objective as logged (not negated for maximize).
struct TrialRecord {
    std::int64_t id = 0;       // database key
    std::uint64_t number = 0;  // 0-based order of creation within the study
    TrialState state = TrialState::running;
    std::vector<double> params;   // one per space entry (choice: the index)
    std::optional<double> value;  // the objective of a complete trial
    std::vector<std::pair<std::uint64_t, double>> intermediate;  // (1-based epoch, value)
    std::string reason;          // why it failed or was pruned ("timeout after 900 s", ...)
    std::string log_tail;        // the last lines of its output, for failed trials
    std::string worker;          // "host:pid" of the `plexus tune` process that ran it
    std::uint64_t epochs = 0;    // epochs it trained
    double started = 0.0;        // Unix seconds
    double finished = 0.0;       // Unix seconds, 0 while running
    double heartbeat_age = 0.0;  // seconds since its worker's last heartbeat (storage clock)
    std::optional<std::uint64_t> rerun_of;  // the interrupted trial whose parameters it re-runs
    bool rerun = false;                     // interrupted, and a later trial re-runs it
};

/// "running", "complete", "pruned" or "failed": a state as the storage stores it and
/// listings show it.
const char* trial_state_name(TrialState state);

/// Claims the next trial: given every trial so far (by number), returns the parameters of
/// trial `number`.
using SuggestFn = std::function<std::vector<double>(const std::vector<TrialRecord>& history,
                                                    std::uint64_t number)>;
/// Whether a running trial's worker is gone (a dead process on this host, or a heartbeat
/// older than the study allows).
using StaleFn = std::function<bool(const TrialRecord& trial)>;

class StudyStorage {
public:
    virtual ~StudyStorage();

    /// Creates the study `name` or, when it exists, checks that `definition` (the canonical
    /// text of its space, objective and direction) is the same; a different one is refused
    /// with a ConfigError naming `where` (the study file) and saying what changed.
    virtual void open(const std::string& name, const std::string& definition,
                      const std::string& where) = 0;

    /// In one transaction: marks running trials for which `stale` holds as failed
    /// ("interrupted: ..."); then, unless `planned` trials already count (complete, pruned,
    /// failed other than interrupted, and running: an interrupted trial's parameters are
    /// re-run by a later trial, which counts instead), creates the next trial
    /// (number = trials so far) in state running for `worker`, with the parameters of the
    /// oldest interrupted trial not yet re-run (marking it re-run) or else `suggest`'s.
    /// Returns it, or nullopt when the plan is complete.
    virtual std::optional<TrialRecord> claim(std::uint64_t planned, const std::string& worker,
                                             const StaleFn& stale, const SuggestFn& suggest) = 0;

    /// Records the value of a running trial at a 1-based epoch (again: replaces it). A NaN
    /// reads back as NaN. A trial no longer running (another worker declared it
    /// interrupted) is left as it is, here and in finish().
    virtual void report(std::int64_t trial_id, std::uint64_t step, double value) = 0;
    /// Refreshes the heartbeat of every running trial of `worker`.
    virtual void heartbeat(const std::string& worker) = 0;
    /// Ends a running trial: complete (with its value, not NaN), pruned or failed (with the
    /// reason and the tail of its log; bytes that are not UTF-8 are stored as '?').
    virtual void finish(std::int64_t trial_id, TrialState state, std::optional<double> value,
                        std::uint64_t epochs, const std::string& reason,
                        const std::string& log_tail) = 0;

    /// Every trial of the study by number, with its intermediate values.
    virtual std::vector<TrialRecord> trials() = 0;

    /// Study-level values (the best trial's test metrics, ...).
    virtual void set_attribute(const std::string& key, const std::string& value) = 0;
    virtual std::optional<std::string> attribute(const std::string& key) = 0;
};

/// `url` empty or "sqlite:PATH" (relative to the study folder): SQLite, by default
/// `default_sqlite` ; "postgresql://..." or "postgres://...": PostgreSQL (libpq).
/// Throws ConfigError for an unknown scheme or when the database cannot be opened.
std::unique_ptr<StudyStorage> open_storage(const std::string& url,
                                           const std::filesystem::path& default_sqlite);

}  // namespace plexus::core

#pragma GCC visibility pop
