// The SQLite connection of the study storage: one file that several `plexus tune` processes
// open at once. WAL mode lets readers work while one process writes; every write takes the
// file's write lock up front (BEGIN IMMEDIATE), so two claims never interleave and no
// transaction has to be retried half-way.
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <unordered_map>

#include "plexus/error.hpp"
#include "sql.hpp"

namespace plexus::core::sql {

namespace {

constexpr int kBusySeconds = 30;

class SqliteConnection final : public Connection {
public:
    explicit SqliteConnection(std::string path) : name_(std::move(path)) {
        std::error_code ignored;
        const std::filesystem::path parent = std::filesystem::path(name_).parent_path();
        if (!parent.empty()) std::filesystem::create_directories(parent, ignored);
        const int rc = sqlite3_open_v2(name_.c_str(), &db_,
                                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
        if (rc != SQLITE_OK) {
            const std::string why = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
            sqlite3_close(db_);
            throw ConfigError(name_ + ": cannot open the study database: " + why +
                              " (check the folder exists and is writable)");
        }
        sqlite3_busy_timeout(db_, kBusySeconds * 1000);
        try {
            // journal_mode needs a moment alone with the file: several workers may open it
            // at once. A file that is not a database fails here.
            retry_busy([&] { return exec_plain("PRAGMA journal_mode = WAL"); });
            retry_busy([&] { return exec_plain("PRAGMA synchronous = NORMAL"); });
            retry_busy([&] { return exec_plain("PRAGMA foreign_keys = ON"); });
        } catch (const Error& error) {
            sqlite3_close(db_);
            throw ConfigError(error.what());
        }
    }

    ~SqliteConnection() override {
        for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
        sqlite3_close(db_);
    }

    const std::string& name() const override { return name_; }

    Rows query(std::string_view sql, const std::vector<Value>& params) override {
        sqlite3_stmt* statement = prepare(sql);
        // Leaves the statement reusable (and its read lock released) however this ends.
        struct Reset {
            sqlite3_stmt* statement;
            ~Reset() {
                sqlite3_reset(statement);
                sqlite3_clear_bindings(statement);
            }
        } reset{statement};
        for (std::size_t i = 0; i < params.size(); ++i) bind(statement, int(i) + 1, params[i]);
        Rows rows;
        for (;;) {
            const int rc = sqlite3_step(statement);
            if (rc == SQLITE_DONE) return rows;
            if (rc != SQLITE_ROW) fail(rc);
            std::vector<Value> cells;
            const int columns = sqlite3_column_count(statement);
            for (int c = 0; c < columns; ++c) cells.push_back(cell(statement, c));
            rows.emplace_back(std::move(cells));
        }
    }

    void begin(Mode mode, std::int64_t) override {
        const char* sql = mode == Mode::read ? "BEGIN" : "BEGIN IMMEDIATE";
        retry_busy([&] { return exec_plain(sql); });
    }

    void commit() override {
        retry_busy([&] { return exec_plain("COMMIT"); });
    }

    void rollback() noexcept override {
        if (!sqlite3_get_autocommit(db_)) exec_plain("ROLLBACK");
    }

    std::string removal_hint(const std::string&) const override {
        const std::filesystem::path parent = std::filesystem::path(name_).parent_path();
        return "delete " + (parent.empty() ? name_ : parent.string());
    }

private:
    int exec_plain(const char* sql) noexcept {
        return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    }

    // The busy handler waits inside SQLite, but some lock conflicts (WAL recovery, BEGIN
    // racing another BEGIN IMMEDIATE) return SQLITE_BUSY at once: retry those ourselves
    // until the same deadline.
    template <class Attempt>
    void retry_busy(Attempt attempt) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kBusySeconds);
        for (;;) {
            const int rc = attempt();
            if (rc == SQLITE_OK) return;
            const bool busy = (rc & 0xFF) == SQLITE_BUSY || (rc & 0xFF) == SQLITE_LOCKED;
            if (!busy || std::chrono::steady_clock::now() >= deadline) fail(rc);
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }

    [[noreturn]] void fail(int rc) const {
        const int primary = rc & 0xFF;
        if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
            throw Error(name_ + ": database is locked for " + std::to_string(kBusySeconds) +
                        " s (another plexus tune?)");
        }
        std::string message = name_ + ": " + sqlite3_errmsg(db_);
        if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
            message += " (the study database is damaged: restore it or start a new study)";
        }
        throw Error(message);
    }

    sqlite3_stmt* prepare(std::string_view sql) {
        std::string key(sql);
        if (auto found = statements_.find(key); found != statements_.end()) return found->second;
        std::string text = replace_word(key, "id", "INTEGER PRIMARY KEY");
        text = replace_word(text, "real", "REAL");
        // Julian days are SQLite's clock: the process's wall clock, in milliseconds.
        text = replace_word(text, "now", "((julianday('now') - 2440587.5) * 86400.0)");
        sqlite3_stmt* statement = nullptr;
        const int rc = sqlite3_prepare_v2(db_, text.c_str(), int(text.size()), &statement, nullptr);
        if (rc != SQLITE_OK) fail(rc);
        statements_.emplace(std::move(key), statement);
        return statement;
    }

    void bind(sqlite3_stmt* statement, int index, const Value& value) {
        int rc = SQLITE_OK;
        if (const auto* i = std::get_if<std::int64_t>(&value)) {
            rc = sqlite3_bind_int64(statement, index, *i);
        } else if (const auto* d = std::get_if<double>(&value)) {
            rc = sqlite3_bind_double(statement, index, *d);
        } else if (const auto* s = std::get_if<std::string>(&value)) {
            rc = sqlite3_bind_text64(statement, index, s->data(), s->size(), SQLITE_TRANSIENT,
                                     SQLITE_UTF8);
        } else {
            rc = sqlite3_bind_null(statement, index);
        }
        if (rc != SQLITE_OK) fail(rc);
    }

    static Value cell(sqlite3_stmt* statement, int column) {
        switch (sqlite3_column_type(statement, column)) {
            case SQLITE_INTEGER:
                return std::int64_t{sqlite3_column_int64(statement, column)};
            case SQLITE_FLOAT:
                return sqlite3_column_double(statement, column);
            case SQLITE_NULL:
                return std::monostate{};
            default: {
                const auto* text =
                    reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
                const int bytes = sqlite3_column_bytes(statement, column);
                return std::string(text ? text : "", text ? std::size_t(bytes) : 0);
            }
        }
    }

    std::string name_;
    sqlite3* db_ = nullptr;
    std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace

std::unique_ptr<Connection> open_sqlite(const std::string& path) {
    return std::make_unique<SqliteConnection>(path);
}

}  // namespace plexus::core::sql
