// The storage interface's out-of-line parts; the SQLite and PostgreSQL storages follow.
#include "plexus/core/study/storage.hpp"

#include "plexus/error.hpp"

namespace plexus::core {

StudyStorage::~StudyStorage() = default;

std::unique_ptr<StudyStorage> open_storage(const std::string& url, const std::filesystem::path&) {
    throw ConfigError("study storage '" + url + "': not available in this build yet");
}

}  // namespace plexus::core
