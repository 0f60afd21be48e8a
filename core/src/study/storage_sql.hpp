// The study storage over a SQL connection: SQLite and PostgreSQL share this implementation
// of the schema, the claim and the checked reading of trials.
#pragma once

#include <memory>

#include "plexus/core/study/storage.hpp"
#include "sql.hpp"
#include "storage_rows.hpp"

namespace plexus::core {

class SqlStudyStorage final : public StudyStorage {
public:
    /// Creates the schema in an empty database, or checks the version of an existing one
    /// (a newer or unknown one is refused with a ConfigError).
    explicit SqlStudyStorage(std::unique_ptr<sql::Connection> db);
    ~SqlStudyStorage() override;

    void open(const std::string& name, const std::string& definition,
              const std::string& where) override;
    std::optional<TrialRecord> claim(std::uint64_t planned, const std::string& worker,
                                     const StaleFn& stale, const SuggestFn& suggest) override;
    void report(std::int64_t trial_id, std::uint64_t step, double value) override;
    void heartbeat(const std::string& worker) override;
    void finish(std::int64_t trial_id, TrialState state, std::optional<double> value,
                std::uint64_t epochs, const std::string& reason,
                const std::string& log_tail) override;
    std::vector<TrialRecord> trials() override;
    void set_attribute(const std::string& key, const std::string& value) override;
    std::optional<std::string> attribute(const std::string& key) override;

private:
    std::int64_t study_id() const;  // throws std::logic_error before open()
    std::vector<storage_rows::StoredTrial> load();
    void check_params(const std::vector<double>& params, std::size_t arity) const;

    std::unique_ptr<sql::Connection> db_;
    std::string study_;  // empty until open()
    std::int64_t study_id_ = 0;
};

}  // namespace plexus::core
