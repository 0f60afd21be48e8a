// The PostgreSQL connection of the study storage (libpq), for workers on several machines.
// Values always travel as parameters, never spliced into SQL. Writes to one study are
// serialised by a transaction-scoped advisory lock on its id, so a claim reads the trials
// and inserts the next one as one step, as SQLite's BEGIN IMMEDIATE does for a file.
//
// libpq is opened with dlopen on the first postgresql:// URL, not linked: it brings twenty
// libraries (OpenSSL, GnuTLS, Kerberos, LDAP, ...) whose loading was half of every plexus
// command's start-up time, and most runs never use it.
#include <dlfcn.h>
#include <libpq-fe.h>

#include <memory>

#include "plexus/error.hpp"
#include "sql.hpp"

namespace plexus::core::sql {

namespace {

// The libpq functions this file calls, resolved from libpq.so.5 (its soname since PostgreSQL 8.0).
struct LibPq {
    decltype(&::PQclear) clear;
    decltype(&::PQconnectdbParams) connectdbParams;
    decltype(&::PQerrorMessage) errorMessage;
    decltype(&::PQexec) exec;
    decltype(&::PQexecParams) execParams;
    decltype(&::PQfinish) finish;
    decltype(&::PQgetisnull) getisnull;
    decltype(&::PQgetlength) getlength;
    decltype(&::PQgetvalue) getvalue;
    decltype(&::PQnfields) nfields;
    decltype(&::PQntuples) ntuples;
    decltype(&::PQresultErrorField) resultErrorField;
    decltype(&::PQresultErrorMessage) resultErrorMessage;
    decltype(&::PQresultStatus) resultStatus;
    decltype(&::PQsetNoticeProcessor) setNoticeProcessor;
    decltype(&::PQstatus) status;
    decltype(&::PQtransactionStatus) transactionStatus;
};

template <class F>
void bind(void* handle, const char* name, F& function) {
    function = reinterpret_cast<F>(dlsym(handle, name));
    if (!function)
        throw ConfigError(std::string("PostgreSQL storage: libpq.so.5 has no function ") + name);
}

const LibPq& load_libpq() {
    void* handle = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);  // never closed
    if (!handle) {
        const char* why = dlerror();
        throw ConfigError(std::string("PostgreSQL storage needs libpq (") +
                          (why ? why : "libpq.so.5 not found") +
                          "); install it: apt install libpq5");
    }
    static LibPq lib;
    bind(handle, "PQclear", lib.clear);
    bind(handle, "PQconnectdbParams", lib.connectdbParams);
    bind(handle, "PQerrorMessage", lib.errorMessage);
    bind(handle, "PQexec", lib.exec);
    bind(handle, "PQexecParams", lib.execParams);
    bind(handle, "PQfinish", lib.finish);
    bind(handle, "PQgetisnull", lib.getisnull);
    bind(handle, "PQgetlength", lib.getlength);
    bind(handle, "PQgetvalue", lib.getvalue);
    bind(handle, "PQnfields", lib.nfields);
    bind(handle, "PQntuples", lib.ntuples);
    bind(handle, "PQresultErrorField", lib.resultErrorField);
    bind(handle, "PQresultErrorMessage", lib.resultErrorMessage);
    bind(handle, "PQresultStatus", lib.resultStatus);
    bind(handle, "PQsetNoticeProcessor", lib.setNoticeProcessor);
    bind(handle, "PQstatus", lib.status);
    bind(handle, "PQtransactionStatus", lib.transactionStatus);
    return lib;
}

/// libpq, loaded on first use; throws ConfigError when it cannot be (and tries again next time).
const LibPq& pq() {
    static const LibPq& lib = load_libpq();
    return lib;
}

// First key of every advisory lock Plexus takes ("PLXS"), so other users of the same
// database keep their own lock space.
constexpr std::int64_t kLockClass = 0x504C5853;
constexpr int kLockSeconds = 30;  // as long as SQLite waits for a busy file

// libpq's messages end with a newline and may run over several lines ("connection
// refused\n\tIs the server running...").
std::string one_line(const char* message) {
    std::string out;
    for (const char* c = message ? message : ""; *c; ++c) {
        if (*c == '\n' || *c == '\r' || *c == '\t') {
            if (!out.empty() && out.back() != ' ') out += ' ';
        } else {
            out += *c;
        }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

// The URL as messages show it: "postgresql://user@host/db", never the password.
std::string without_password(const std::string& url) {
    std::string shown = url;
    const std::size_t scheme = shown.find("://");
    if (scheme != std::string::npos) {
        const std::size_t start = scheme + 3;
        const std::size_t at = shown.find('@', start);
        const std::size_t slash = shown.find('/', start);
        if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
            const std::size_t colon = shown.find(':', start);
            if (colon != std::string::npos && colon < at) shown.erase(colon, at - colon);
        }
    }
    for (std::size_t key = shown.find("password="); key != std::string::npos;
         key = shown.find("password=", key + 1)) {
        const std::size_t end = shown.find('&', key);
        shown.replace(key, (end == std::string::npos ? shown.size() : end) - key, "password=***");
    }
    return shown;
}

// `?` placeholders become $1, $2, ... outside quoted literals.
std::string numbered(std::string_view sql) {
    std::string out;
    int next = 1;
    bool quoted = false;
    for (char c : sql) {
        if (c == '\'') quoted = !quoted;
        if (c == '?' && !quoted) {
            out += "$" + std::to_string(next++);
        } else {
            out += c;
        }
    }
    out = replace_word(out, "id", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
    out = replace_word(out, "real", "DOUBLE PRECISION");
    // The server's clock, so workers on hosts with skewed clocks agree on heartbeat ages.
    return replace_word(out, "now",
                        "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)");
}

struct ResultFree {
    void operator()(PGresult* result) const { pq().clear(result); }
};
using Result = std::unique_ptr<PGresult, ResultFree>;

// libpq waits for an unreachable host for as long as TCP does unless told otherwise; a
// connect_timeout in the URL still wins (it is expanded after ours).
PGconn* connect(const std::string& url) {
    const std::string seconds = std::to_string(kLockSeconds);
    const char* const keywords[] = {"connect_timeout", "dbname", nullptr};
    const char* const values[] = {seconds.c_str(), url.c_str(), nullptr};
    return pq().connectdbParams(keywords, values, 1);
}

class PostgresConnection final : public Connection {
public:
    explicit PostgresConnection(const std::string& url)
        : name_(without_password(url)), conn_(connect(url)) {
        if (!conn_ || pq().status(conn_) != CONNECTION_OK) {
            const std::string why = conn_ ? one_line(pq().errorMessage(conn_)) : "out of memory";
            pq().finish(conn_);
            throw ConfigError(name_ + ": cannot connect: " + why);
        }
        // CREATE TABLE IF NOT EXISTS and friends would print NOTICEs on our stderr.
        pq().setNoticeProcessor(
            conn_, [](void*, const char*) {}, nullptr);
        try {
            query("SET extra_float_digits = 3", {});  // doubles as text round-trip exactly
            query("SET lock_timeout = '" + std::to_string(kLockSeconds) + "s'", {});
        } catch (const Error& error) {
            pq().finish(conn_);
            throw ConfigError(error.what());
        }
    }

    ~PostgresConnection() override { pq().finish(conn_); }

    const std::string& name() const override { return name_; }

    Rows query(std::string_view sql, const std::vector<Value>& params) override {
        const std::string text = numbered(sql);
        std::vector<std::string> storage(params.size());
        std::vector<const char*> values(params.size(), nullptr);
        for (std::size_t i = 0; i < params.size(); ++i) {
            if (const auto* n = std::get_if<std::int64_t>(&params[i])) {
                storage[i] = std::to_string(*n);
            } else if (const auto* d = std::get_if<double>(&params[i])) {
                storage[i] = real_text(*d);
            } else if (const auto* s = std::get_if<std::string>(&params[i])) {
                storage[i] = *s;
            } else {
                continue;  // NULL
            }
            values[i] = storage[i].c_str();
        }
        Result result(pq().execParams(conn_, text.c_str(), int(values.size()), nullptr,
                                      values.data(), nullptr, nullptr, 0));
        const ExecStatusType status = result ? pq().resultStatus(result.get()) : PGRES_FATAL_ERROR;
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(result.get());
        Rows rows;
        const int columns = pq().nfields(result.get());
        for (int r = 0; r < pq().ntuples(result.get()); ++r) {
            std::vector<Value> cells;
            for (int c = 0; c < columns; ++c) {
                if (pq().getisnull(result.get(), r, c)) {
                    cells.emplace_back(std::monostate{});
                } else {
                    cells.emplace_back(
                        std::string(pq().getvalue(result.get(), r, c),
                                    std::size_t(pq().getlength(result.get(), r, c))));
                }
            }
            rows.emplace_back(std::move(cells));
        }
        return rows;
    }

    void begin(Mode mode, std::int64_t key) override {
        single_ = mode == Mode::single_write;
        if (single_) return;
        if (mode == Mode::read) {
            query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {});
            return;
        }
        query("BEGIN", {});
        query("SELECT pg_advisory_xact_lock(CAST(? AS INTEGER), CAST(? AS INTEGER))",
              {kLockClass, key & 0x7FFFFFFF});
    }

    void commit() override {
        if (!single_) query("COMMIT", {});
        single_ = false;
    }

    void rollback() noexcept override {
        single_ = false;
        if (pq().transactionStatus(conn_) != PQTRANS_IDLE) Result(pq().exec(conn_, "ROLLBACK"));
    }

    std::string removal_hint(const std::string& study) const override {
        return "delete study '" + study + "' from " + name_;
    }

private:
    [[noreturn]] void fail(const PGresult* result) const {
        if (pq().status(conn_) == CONNECTION_BAD) {
            throw Error(name_ + ": lost the connection: " + one_line(pq().errorMessage(conn_)));
        }
        const char* state = result ? pq().resultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
        if (state && std::string(state) == "55P03") {
            throw Error(name_ + ": database is locked for " + std::to_string(kLockSeconds) +
                        " s (another plexus tune?)");
        }
        throw Error(name_ + ": " +
                    one_line(result ? pq().resultErrorMessage(result) : pq().errorMessage(conn_)));
    }

    std::string name_;
    PGconn* conn_;
    bool single_ = false;  // in a single write: no transaction to end
};

}  // namespace

std::unique_ptr<Connection> open_postgres(const std::string& url) {
    return std::make_unique<PostgresConnection>(url);
}

}  // namespace plexus::core::sql
