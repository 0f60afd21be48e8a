// Choosing the study storage from its URL (storage.hpp).
#include "plexus/core/study/storage.hpp"

#include "plexus/error.hpp"
#include "storage_sql.hpp"

namespace plexus::core {

StudyStorage::~StudyStorage() = default;

const char* trial_state_name(TrialState state) {
    switch (state) {
        case TrialState::running:
            return "running";
        case TrialState::complete:
            return "complete";
        case TrialState::pruned:
            return "pruned";
        case TrialState::failed:
            return "failed";
    }
    return "unknown";
}

std::unique_ptr<StudyStorage> open_storage(const std::string& url,
                                           const std::filesystem::path& default_sqlite) {
    const auto starts = [&](std::string_view prefix) { return url.rfind(prefix, 0) == 0; };
    if (url.empty())
        return std::make_unique<SqlStudyStorage>(sql::open_sqlite(default_sqlite.string()));
    if (starts("sqlite:")) {
        const std::filesystem::path path = url.substr(7);
        if (path.empty()) {
            throw ConfigError("storage '" + url + "': no file after 'sqlite:' (sqlite:study.db)");
        }
        const auto folder = default_sqlite.parent_path();
        return std::make_unique<SqlStudyStorage>(
            sql::open_sqlite((path.is_absolute() ? path : folder / path).string()));
    }
    if (starts("postgresql://") || starts("postgres://")) {
        return std::make_unique<SqlStudyStorage>(sql::open_postgres(url));
    }
    throw ConfigError("storage '" + url +
                      "': unknown kind; use sqlite:PATH or postgresql://USER@HOST/DATABASE");
}

}  // namespace plexus::core
