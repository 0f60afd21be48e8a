// The study storage tests run every case against SQLite and, when PLEXUS_TEST_POSTGRES_URL
// is set (CTest sets it inside pg_virtualenv), against PostgreSQL. Each backend gives a fresh
// database and raw SQL access to it, through the databases' own C APIs rather than the code
// under test, so tests can damage a database on purpose.
#pragma once

#include <libpq-fe.h>
#include <sqlite3.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#include "plexus/core/study/storage.hpp"
#include "temp_dir.hpp"

namespace plexus::test {

class StorageBackend {
public:
    virtual ~StorageBackend() = default;
    /// A new connection to the test's database, as `plexus tune` opens it.
    virtual std::unique_ptr<core::StudyStorage> open() const = 0;
    /// Runs raw SQL on the database; throws std::runtime_error when it fails.
    virtual void exec(const std::string& sql) const = 0;
    /// The database as the storage's messages name it.
    virtual std::string name() const = 0;
    /// The URL to give open_storage.
    virtual std::string url() const = 0;
    /// The default SQLite path given to open_storage.
    virtual std::filesystem::path default_sqlite() const = 0;
};

class SqliteBackend final : public StorageBackend {
public:
    std::unique_ptr<core::StudyStorage> open() const override {
        return core::open_storage("", file());
    }
    void exec(const std::string& sql) const override {
        sqlite3* db = nullptr;
        sqlite3_open(file().c_str(), &db);
        sqlite3_busy_timeout(db, 30000);
        char* error = nullptr;
        const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
        const std::string message = error ? error : "";
        sqlite3_free(error);
        sqlite3_close(db);
        if (rc != SQLITE_OK) throw std::runtime_error(sql + ": " + message);
    }
    std::string name() const override { return file().string(); }
    std::string url() const override { return ""; }
    std::filesystem::path default_sqlite() const override { return file(); }
    std::filesystem::path file() const { return dir_ / "study" / "study.db"; }

    /// PRAGMA integrity_check's answer ("ok" for a sound file).
    std::string integrity() const {
        sqlite3* db = nullptr;
        sqlite3_open(file().c_str(), &db);
        sqlite3_stmt* statement = nullptr;
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &statement, nullptr);
        std::string answer = "no answer";
        if (sqlite3_step(statement) == SQLITE_ROW) {
            answer = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
        }
        sqlite3_finalize(statement);
        sqlite3_close(db);
        return answer;
    }

private:
    TempDir dir_{"storage"};
};

/// A database of its own on the server PLEXUS_TEST_POSTGRES_URL names, dropped afterwards.
class PostgresBackend final : public StorageBackend {
public:
    PostgresBackend() {
        static int counter = 0;
        database_ = "plexus_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
        run(server_url(), "DROP DATABASE IF EXISTS " + database_);
        run(server_url(), "CREATE DATABASE " + database_);
        const std::string base = server_url();
        url_ = base + (base.find('?') == std::string::npos ? "?" : "&") + "dbname=" + database_;
    }
    ~PostgresBackend() override {
        try {
            run(server_url(), "DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)");
        } catch (const std::exception&) {
        }
    }
    std::unique_ptr<core::StudyStorage> open() const override {
        return core::open_storage(url_, "unused.db");
    }
    void exec(const std::string& sql) const override { run(url_, sql); }
    std::string name() const override { return url_; }
    std::string url() const override { return url_; }
    std::filesystem::path default_sqlite() const override { return "unused.db"; }

    static std::string server_url() {
        const char* url = std::getenv("PLEXUS_TEST_POSTGRES_URL");
        return url ? url : "";
    }

private:
    static void run(const std::string& url, const std::string& sql) {
        PGconn* conn = PQconnectdb(url.c_str());
        std::string message;
        if (PQstatus(conn) != CONNECTION_OK) {
            message = PQerrorMessage(conn);
        } else {
            PQsetNoticeProcessor(
                conn, [](void*, const char*) {}, nullptr);
            PGresult* result = PQexec(conn, sql.c_str());
            const auto status = PQresultStatus(result);
            if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
                message = PQresultErrorMessage(result);
            }
            PQclear(result);
        }
        PQfinish(conn);
        if (!message.empty()) throw std::runtime_error(sql + ": " + message);
    }

    std::string database_;
    std::string url_;
};

/// Boost.Test precondition of the PostgreSQL suites: skipped, saying why, without a server.
struct HavePostgres {
    boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
        boost::test_tools::assertion_result result(!PostgresBackend::server_url().empty());
        result.message() << "PLEXUS_TEST_POSTGRES_URL is not set (ctest runs these under "
                            "pg_virtualenv: test_study_storage_postgres)";
        return result;
    }
};

}  // namespace plexus::test

/// Defines `check_NAME(StorageBackend& backend)` and runs it as the test cases sqlite/NAME
/// and postgres/NAME.
#define STORAGE_CASE(NAME)                                                                      \
    void check_##NAME(plexus::test::StorageBackend& backend);                                   \
    BOOST_AUTO_TEST_SUITE(sqlite)                                                               \
    BOOST_AUTO_TEST_CASE(NAME) {                                                                \
        plexus::test::SqliteBackend backend;                                                    \
        check_##NAME(backend);                                                                  \
    }                                                                                           \
    BOOST_AUTO_TEST_SUITE_END()                                                                 \
    BOOST_AUTO_TEST_SUITE(postgres)                                                             \
    BOOST_AUTO_TEST_CASE(NAME, *boost::unit_test::precondition(plexus::test::HavePostgres{})) { \
        plexus::test::PostgresBackend backend;                                                  \
        check_##NAME(backend);                                                                  \
    }                                                                                           \
    BOOST_AUTO_TEST_SUITE_END()                                                                 \
    void check_##NAME(plexus::test::StorageBackend& backend)
