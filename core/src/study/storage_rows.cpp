// Checked reading of stored trials (storage_rows.hpp).
#include "storage_rows.hpp"

#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "plexus/error.hpp"

namespace plexus::core::storage_rows {

namespace {

enum Column : std::size_t {
    kId,
    kNumber,
    kState,
    kParams,
    kValue,
    kReason,
    kLogTail,
    kWorker,
    kEpochs,
    kStarted,
    kFinished,
    kHeartbeat,
    kInterrupted,
    kRerunOf,
    kRerun,
    kNow
};

const char* const kDamaged = "the study database is damaged; restore it or start a new study";

// A trial whose cell `what` is wrong. Thrown inside parse_trial and turned into the message.
struct Damage {
    std::string what;
};

std::vector<double> parse_params(const std::string& text, std::size_t arity) {
    const auto json = nlohmann::json::parse(text, nullptr, false);
    std::string shown = text.size() > 40 ? text.substr(0, 40) + "..." : text;
    if (json.is_discarded() || !json.is_array()) {
        throw Damage{"params '" + sql::clean_text(shown) + "' are not a JSON array of numbers"};
    }
    std::vector<double> params;
    for (const auto& item : json) {
        const double value = item.is_number() ? item.get<double>() : std::nan("");
        if (!std::isfinite(value)) {
            throw Damage{"params '" + sql::clean_text(shown) +
                         "' hold a value that is not a finite number"};
        }
        params.push_back(value);
    }
    if (arity != 0 && params.size() != arity) {
        throw Damage{"params hold " + std::to_string(params.size()) +
                     " values where the other trials hold " + std::to_string(arity)};
    }
    return params;
}

std::int64_t bounded(const sql::Row& row, Column column, const char* name, std::int64_t low,
                     std::int64_t high) {
    const std::int64_t value = row.integer(column);
    if (value < low || value > high) {
        throw Damage{std::string(name) + " " + std::to_string(value) + " is outside " +
                     std::to_string(low) + ".." + std::to_string(high)};
    }
    return value;
}

double time_of(const sql::Row& row, Column column, const char* name) {
    const double value = row.real(column);
    if (!std::isfinite(value) || value < 0.0) {
        throw Damage{std::string(name) + " " + sql::real_text(value) + " is not a time"};
    }
    return value;
}

TrialState parse_state(const std::string& text) {
    for (TrialState state :
         {TrialState::running, TrialState::complete, TrialState::pruned, TrialState::failed}) {
        if (text == trial_state_name(state)) return state;
    }
    throw Damage{"state '" + sql::clean_text(text.substr(0, 40)) +
                 "' is not running, complete, pruned or failed"};
}

StoredTrial parse_cells(const sql::Row& row, std::size_t position, std::size_t arity) {
    StoredTrial trial;
    TrialRecord& r = trial.record;
    r.id = row.integer(kId);
    r.number =
        std::uint64_t(bounded(row, kNumber, "number", 0, std::numeric_limits<std::int64_t>::max()));
    if (r.number != position) {
        throw Damage{"numbers are not 0, 1, 2, ... (found " + std::to_string(r.number) +
                     " at position " + std::to_string(position) + ")"};
    }
    r.state = parse_state(row.text(kState));
    r.params = parse_params(row.text(kParams), arity);
    if (!row.is_null(kValue)) {
        const double value = row.real(kValue);
        if (std::isnan(value)) throw Damage{"value is NaN"};
        r.value = value;
    } else if (r.state == TrialState::complete) {
        throw Damage{"is complete but has no value"};
    }
    r.reason = row.text(kReason);
    r.log_tail = row.text(kLogTail);
    r.worker = row.text(kWorker);
    r.epochs = std::uint64_t(bounded(row, kEpochs, "epochs", 0, kMaxEpochs));
    r.started = time_of(row, kStarted, "started");
    r.finished = time_of(row, kFinished, "finished");
    const double heartbeat = time_of(row, kHeartbeat, "heartbeat");
    r.heartbeat_age = row.real(kNow) - heartbeat;
    trial.interrupted = bounded(row, kInterrupted, "interrupted", 0, 1) == 1;
    if (!row.is_null(kRerunOf)) {
        r.rerun_of =
            std::uint64_t(bounded(row, kRerunOf, "rerun_of", 0, std::int64_t(r.number) - 1));
    }
    r.rerun = bounded(row, kRerun, "rerun", 0, 1) == 1;
    return trial;
}

}  // namespace

StoredTrial parse_trial(const sql::Row& row, std::size_t position, std::size_t arity,
                        const std::string& database) {
    try {
        return parse_cells(row, position, arity);
    } catch (const Damage& damage) {
        throw Error(database + ": trial " + std::to_string(position) + ": " + damage.what + "; " +
                    kDamaged);
    } catch (const sql::BadValue& bad) {
        throw Error(database + ": trial " + std::to_string(position) + ": " + bad.what() + "; " +
                    kDamaged);
    }
}

void add_intermediate(const sql::Rows& rows, std::vector<StoredTrial>& trials,
                      const std::string& database) {
    std::map<std::int64_t, TrialRecord*> by_id;
    for (StoredTrial& trial : trials) by_id[trial.record.id] = &trial.record;
    for (const sql::Row& row : rows) {
        std::string where = "an intermediate value";
        try {
            const auto found = by_id.find(row.integer(0));
            if (found == by_id.end()) throw Damage{"belongs to no trial of the study"};
            TrialRecord& trial = *found->second;
            where = "trial " + std::to_string(trial.number);
            const auto step = std::uint64_t(bounded(row, Column(1), "epoch", 1, kMaxEpochs));
            const double value = row.is_null(2) ? std::nan("") : row.real(2);
            if (!trial.intermediate.empty() && trial.intermediate.back().first >= step) {
                throw Damage{"epochs of intermediate values are not increasing"};
            }
            trial.intermediate.emplace_back(step, value);
        } catch (const Damage& damage) {
            throw Error(database + ": " + where + ": " + damage.what + "; " + kDamaged);
        } catch (const sql::BadValue& bad) {
            throw Error(database + ": " + where + ": intermediate " + bad.what() + "; " + kDamaged);
        }
    }
}

std::string params_text(const std::vector<double>& params) {
    std::string text = "[";
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (i > 0) text += ',';
        text += sql::real_text(params[i]);
    }
    return text + "]";
}

}  // namespace plexus::core::storage_rows
