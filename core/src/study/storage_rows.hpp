// Trials as the database holds them, read back with every cell checked: a damaged or
// hand-edited study database gives one line naming the database and the trial, never a
// crash or a silently wrong history.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plexus/core/study/storage.hpp"
#include "sql.hpp"

namespace plexus::core::storage_rows {

/// No trial trains more epochs than this; a larger count in the database is damage.
inline constexpr std::int64_t kMaxEpochs = 1'000'000'000;

/// The columns `parse_trial` reads, in its order, for "SELECT <kTrialColumns>, {now} ...".
inline constexpr const char* kTrialColumns =
    "id, number, state, params, value, reason, log_tail, worker, epochs, started, finished, "
    "heartbeat, interrupted, rerun_of, rerun";

/// A trial and what the storage alone needs to know about it.
struct StoredTrial {
    TrialRecord record;
    bool interrupted = false;  // failed because its worker was gone
};

/// Reads one row of "SELECT <kTrialColumns>, {now}"; `position` is its index by number and
/// `arity` the parameter count of the study's other trials (0: not known yet).
/// Throws plexus::Error "<database>: trial N: <what is wrong>; <what to do>".
StoredTrial parse_trial(const sql::Row& row, std::size_t position, std::size_t arity,
                        const std::string& database);

/// Adds the rows of "SELECT trial, step, value FROM intermediate ..." (ordered by trial and
/// step) to their trials. Throws plexus::Error like parse_trial.
void add_intermediate(const sql::Rows& rows, std::vector<StoredTrial>& trials,
                      const std::string& database);

/// "[0.1,1e-300]": every value exactly as it reads back. requires: finite values.
std::string params_text(const std::vector<double>& params);

}  // namespace plexus::core::storage_rows
