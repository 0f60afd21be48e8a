// The study storage over a SQL connection (sql.hpp): one schema and one claim for SQLite
// and PostgreSQL alike.
#include "storage_sql.hpp"

#include <cmath>
#include <sstream>

#include "plexus/error.hpp"
#include "storage_rows.hpp"

namespace plexus::core {

namespace {

using sql::Mode;
using sql::Value;
using storage_rows::StoredTrial;

constexpr std::int64_t kSchemaVersion = 1;
// Lock key of the writes that concern no single study (schema, creating a study).
constexpr std::int64_t kGlobalLock = 0;

// The schema, version kSchemaVersion. Times are Unix seconds of the storage clock; params
// a JSON array of doubles written to read back exactly.
const char* const kSchema[] = {
    "CREATE TABLE studies (id {id}, name TEXT NOT NULL UNIQUE, definition TEXT NOT NULL, "
    "created {real} NOT NULL)",
    "CREATE TABLE trials (id {id}, study BIGINT NOT NULL REFERENCES studies (id) ON DELETE "
    "CASCADE, number BIGINT NOT NULL, state TEXT NOT NULL, params TEXT NOT NULL, value {real}, "
    "reason TEXT NOT NULL DEFAULT '', log_tail TEXT NOT NULL DEFAULT '', worker TEXT NOT NULL, "
    "epochs BIGINT NOT NULL DEFAULT 0, started {real} NOT NULL, finished {real} NOT NULL "
    "DEFAULT 0, heartbeat {real} NOT NULL, interrupted INTEGER NOT NULL DEFAULT 0, rerun_of "
    "BIGINT, rerun INTEGER NOT NULL DEFAULT 0, UNIQUE (study, number))",
    "CREATE TABLE intermediate (trial BIGINT NOT NULL REFERENCES trials (id) ON DELETE CASCADE, "
    "step BIGINT NOT NULL, value {real}, PRIMARY KEY (trial, step))",
    "CREATE TABLE attributes (study BIGINT NOT NULL REFERENCES studies (id) ON DELETE CASCADE, "
    "key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (study, key))",
};

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// "'lr = uniform 0 1' (was 'lr = loguniform 1e-4 1e-1')": the first line that differs.
std::string first_difference(const std::string& stored, const std::string& wanted) {
    const auto old_lines = lines_of(stored);
    const auto new_lines = lines_of(wanted);
    for (std::size_t i = 0; i < std::max(old_lines.size(), new_lines.size()); ++i) {
        const std::string was = i < old_lines.size() ? "'" + old_lines[i] + "'" : "nothing";
        const std::string now = i < new_lines.size() ? "'" + new_lines[i] + "'" : "nothing";
        if (was != now) return now + " (was " + was + ")";
    }
    return "line endings";
}

}  // namespace

SqlStudyStorage::SqlStudyStorage(std::unique_ptr<sql::Connection> db) : db_(std::move(db)) {
    sql::Transaction transaction(*db_, Mode::write, kGlobalLock);
    db_->query("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)", {});
    const auto version = db_->query("SELECT value FROM meta WHERE key = 'schema_version'", {});
    if (version.empty()) {
        for (const char* statement : kSchema) db_->query(statement, {});
        db_->query("INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                   {std::to_string(kSchemaVersion)});
    } else {
        std::string found = "?";
        try {
            found = version[0].text(0);
        } catch (const sql::BadValue&) {
        }
        if (found != std::to_string(kSchemaVersion)) {
            throw ConfigError(db_->name() + ": study database schema version '" +
                              sql::clean_text(found.substr(0, 20)) + "', this plexus knows " +
                              std::to_string(kSchemaVersion) +
                              " only; use the plexus that created it or a new study");
        }
    }
    transaction.commit();
}

SqlStudyStorage::~SqlStudyStorage() = default;

void SqlStudyStorage::open(const std::string& name, const std::string& definition,
                           const std::string& where) {
    sql::Transaction transaction(*db_, Mode::write, kGlobalLock);
    const auto found = db_->query("SELECT id, definition FROM studies WHERE name = ?", {name});
    if (found.empty()) {
        const auto created = db_->query(
            "INSERT INTO studies (name, definition, created) VALUES (?, ?, {now}) RETURNING id",
            {name, definition});
        study_id_ = created.at(0).integer(0);
    } else {
        std::string stored;
        try {
            study_id_ = found[0].integer(0);
            stored = found[0].text(1);
        } catch (const sql::BadValue& bad) {
            throw ConfigError(db_->name() + ": study '" + name + "': " + bad.what() +
                              "; the study database is damaged");
        }
        if (stored != definition) {
            throw ConfigError(
                where + ": study '" + name + "' exists with another definition " +
                "(space/objective/direction changed: " + first_difference(stored, definition) +
                "); use a new study name or " + db_->removal_hint(name));
        }
    }
    transaction.commit();
    study_ = name;
}

std::int64_t SqlStudyStorage::study_id() const {
    if (study_.empty()) throw std::logic_error("StudyStorage used before open()");
    return study_id_;
}

std::vector<StoredTrial> SqlStudyStorage::load() {
    const std::int64_t study = study_id();
    const auto rows = db_->query(std::string("SELECT ") + storage_rows::kTrialColumns +
                                     ", {now} FROM trials WHERE study = ? ORDER BY number",
                                 {study});
    std::vector<StoredTrial> trials;
    const std::string database = db_->name() + ": study '" + study_;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const std::size_t arity = trials.empty() ? 0 : trials[0].record.params.size();
        trials.push_back(storage_rows::parse_trial(rows[i], i, arity, database + "'"));
    }
    const auto values = db_->query(
        "SELECT i.trial, i.step, i.value FROM intermediate i JOIN trials t ON t.id = i.trial "
        "WHERE t.study = ? ORDER BY i.trial, i.step",
        {study});
    storage_rows::add_intermediate(values, trials, database + "'");
    return trials;
}

std::optional<TrialRecord> SqlStudyStorage::claim(std::uint64_t planned, const std::string& worker,
                                                  const StaleFn& stale, const SuggestFn& suggest) {
    sql::Transaction transaction(*db_, Mode::write, study_id());
    auto trials = load();
    bool marked = false;
    for (const StoredTrial& trial : trials) {
        const TrialRecord& r = trial.record;
        if (r.state != TrialState::running || !stale(r)) continue;
        const std::string reason = "interrupted: worker " + r.worker + " is gone (last heartbeat " +
                                   std::to_string(std::llround(r.heartbeat_age)) + " s ago)";
        db_->query(
            "UPDATE trials SET state = 'failed', interrupted = 1, reason = ?, "
            "finished = {now} WHERE id = ? AND state = 'running'",
            {sql::clean_text(reason), r.id});
        marked = true;
    }
    if (marked) trials = load();

    // Interrupted trials do not count: their parameters are re-run by a later trial.
    std::uint64_t counted = 0;
    const StoredTrial* rerun = nullptr;
    for (const StoredTrial& trial : trials) {
        if (!trial.interrupted) ++counted;
        if (trial.interrupted && !trial.record.rerun && !rerun) rerun = &trial;
    }
    if (counted >= planned) {
        transaction.commit();
        return std::nullopt;
    }

    TrialRecord next;
    next.number = trials.size();
    next.worker = worker;
    if (rerun) {
        next.params = rerun->record.params;
        next.rerun_of = rerun->record.number;
        db_->query("UPDATE trials SET rerun = 1 WHERE id = ?", {rerun->record.id});
    } else {
        std::vector<TrialRecord> history;
        history.reserve(trials.size());
        for (const StoredTrial& trial : trials) history.push_back(trial.record);
        next.params = suggest(history, next.number);
        check_params(next.params, trials.empty() ? 0 : trials[0].record.params.size());
    }
    const Value rerun_of = next.rerun_of ? Value(std::int64_t(*next.rerun_of)) : Value();
    const auto inserted = db_->query(
        "INSERT INTO trials (study, number, state, params, worker, started, heartbeat, rerun_of) "
        "VALUES (?, ?, 'running', ?, ?, {now}, {now}, ?) RETURNING id, started",
        {study_id(), std::int64_t(next.number), storage_rows::params_text(next.params),
         sql::clean_text(worker), rerun_of});
    next.id = inserted.at(0).integer(0);
    next.started = inserted.at(0).real(1);
    transaction.commit();
    return next;
}

void SqlStudyStorage::check_params(const std::vector<double>& params, std::size_t arity) const {
    for (double value : params) {
        if (!std::isfinite(value)) {
            throw Error("study '" + study_ + "': the sampler suggested " + sql::real_text(value) +
                        ", not a finite number");
        }
    }
    if (arity != 0 && params.size() != arity) {
        throw Error("study '" + study_ + "': the sampler suggested " +
                    std::to_string(params.size()) + " values for " + std::to_string(arity) +
                    " parameters");
    }
}

void SqlStudyStorage::report(std::int64_t trial_id, std::uint64_t step, double value) {
    if (step < 1 || step > std::uint64_t(storage_rows::kMaxEpochs)) {
        throw Error("study '" + study_ + "': epoch " + std::to_string(step) +
                    " of a trial is out of range");
    }
    sql::Transaction transaction(*db_, Mode::single_write, study_id());
    // A NaN (a diverging epoch) is stored as NULL: SQLite has no NaN.
    const Value stored = std::isnan(value) ? Value() : Value(value);
    db_->query(
        "INSERT INTO intermediate (trial, step, value) SELECT CAST(? AS BIGINT), "
        "CAST(? AS BIGINT), CAST(? AS {real}) WHERE EXISTS "
        "(SELECT 1 FROM trials WHERE id = ? AND study = ? AND state = 'running') "
        "ON CONFLICT (trial, step) DO UPDATE SET value = excluded.value",
        {trial_id, std::int64_t(step), stored, trial_id, study_id()});
    transaction.commit();
}

void SqlStudyStorage::heartbeat(const std::string& worker) {
    sql::Transaction transaction(*db_, Mode::single_write, study_id());
    db_->query(
        "UPDATE trials SET heartbeat = {now} WHERE study = ? AND worker = ? AND "
        "state = 'running'",
        {study_id(), sql::clean_text(worker)});
    transaction.commit();
}

void SqlStudyStorage::finish(std::int64_t trial_id, TrialState state, std::optional<double> value,
                             std::uint64_t epochs, const std::string& reason,
                             const std::string& log_tail) {
    if (state == TrialState::running) throw std::logic_error("finish() with state running");
    if (state == TrialState::complete && (!value || std::isnan(*value))) {
        throw Error("study '" + study_ + "': a complete trial needs a value that is a number");
    }
    if (epochs > std::uint64_t(storage_rows::kMaxEpochs)) {
        throw Error("study '" + study_ + "': " + std::to_string(epochs) +
                    " epochs is out of range");
    }
    const Value stored = value && !std::isnan(*value) ? Value(*value) : Value();
    sql::Transaction transaction(*db_, Mode::single_write, study_id());
    db_->query(
        "UPDATE trials SET state = ?, value = ?, epochs = ?, reason = ?, log_tail = ?, "
        "finished = {now} WHERE id = ? AND study = ? AND state = 'running'",
        {std::string(trial_state_name(state)), stored, std::int64_t(epochs),
         sql::clean_text(reason), sql::clean_text(log_tail), trial_id, study_id()});
    transaction.commit();
}

std::vector<TrialRecord> SqlStudyStorage::trials() {
    sql::Transaction transaction(*db_, Mode::read, study_id());
    const auto trials = load();
    transaction.commit();
    std::vector<TrialRecord> records;
    records.reserve(trials.size());
    for (const StoredTrial& trial : trials) records.push_back(trial.record);
    return records;
}

void SqlStudyStorage::set_attribute(const std::string& key, const std::string& value) {
    sql::Transaction transaction(*db_, Mode::single_write, study_id());
    db_->query(
        "INSERT INTO attributes (study, key, value) VALUES (?, ?, ?) "
        "ON CONFLICT (study, key) DO UPDATE SET value = excluded.value",
        {study_id(), sql::clean_text(key), sql::clean_text(value)});
    transaction.commit();
}

std::optional<std::string> SqlStudyStorage::attribute(const std::string& key) {
    const auto rows = db_->query("SELECT value FROM attributes WHERE study = ? AND key = ?",
                                 {study_id(), sql::clean_text(key)});
    if (rows.empty()) return std::nullopt;
    try {
        return rows[0].text(0);
    } catch (const sql::BadValue& bad) {
        throw Error(db_->name() + ": study '" + study_ + "': attribute '" + key +
                    "': " + bad.what() + "; the study database is damaged");
    }
}

}  // namespace plexus::core
