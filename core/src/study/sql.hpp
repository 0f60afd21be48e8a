// A small SQL connection shared by the study storages. SQLite and PostgreSQL run the same
// statements through it, so the schema and the claim logic are written once
// (storage_sql.cpp); each database contributes only its connection, its transactions and
// three dialect words.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace plexus::core::sql {

/// A statement parameter or a result cell. SQLite hands back typed cells, PostgreSQL text
/// (converted when read).
using Value = std::variant<std::monostate, std::int64_t, double, std::string>;

/// A cell that is not what its column should hold. The storage adds the database and the
/// trial before the user sees it.
class BadValue : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// One result row.
class Row {
public:
    explicit Row(std::vector<Value> cells) : cells_(std::move(cells)) {}

    /// requires: i < size(). Throws BadValue when the cell cannot be read as asked: NULL, a
    /// real where an integer is expected, text that is not exactly a number.
    bool is_null(std::size_t i) const;
    std::int64_t integer(std::size_t i) const;
    double real(std::size_t i) const;  // NaN and infinities come back as such
    std::string text(std::size_t i) const;
    std::size_t size() const { return cells_.size(); }

private:
    const Value& at(std::size_t i) const;
    std::vector<Value> cells_;
};

using Rows = std::vector<Row>;

/// Which transaction to start: a read sees one snapshot; a write is serialised with every
/// other write on the same lock key (SQLite: the whole file). A single write is one
/// statement that changes nothing a claim decides on (a heartbeat, a result): SQLite locks
/// the file for it as for any write, PostgreSQL runs it alone, atomic without the lock (one
/// round trip instead of four).
enum class Mode { read, write, single_write };

/// One open database. Not thread-safe: one per process (and per thread).
class Connection {
public:
    virtual ~Connection() = default;

    /// The database as messages name it: the SQLite file's path, the PostgreSQL URL without
    /// its password.
    virtual const std::string& name() const = 0;

    /// Runs one statement written with `?` placeholders and the dialect words {id} (an
    /// auto-numbered 64-bit primary key), {real} (a double column) and {now} (the storage
    /// clock in Unix seconds). Throws plexus::Error naming the database on failure.
    virtual Rows query(std::string_view sql, const std::vector<Value>& params) = 0;

    /// Starts a transaction; for writes, waits for the lock `key` (PostgreSQL: an advisory
    /// lock, SQLite: BEGIN IMMEDIATE). Throws plexus::Error when it waits too long.
    virtual void begin(Mode mode, std::int64_t key) = 0;
    virtual void commit() = 0;
    virtual void rollback() noexcept = 0;

    /// What the user should remove to start the study `study` afresh.
    virtual std::string removal_hint(const std::string& study) const = 0;
};

/// Rolls back unless committed, so an exception (a failing `suggest` too) leaves nothing
/// half-written.
class Transaction {
public:
    Transaction(Connection& connection, Mode mode, std::int64_t key) : connection_(connection) {
        connection_.begin(mode, key);
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction() {
        if (!done_) connection_.rollback();
    }
    void commit() {
        connection_.commit();
        done_ = true;
    }

private:
    Connection& connection_;
    bool done_ = false;
};

/// Replaces `{word}` with `replacement` everywhere in `text`.
std::string replace_word(std::string text, std::string_view word, std::string_view replacement);

/// Shortest text that reads back as exactly `value` ("0.1", "1e-300"); "NaN", "Infinity",
/// "-Infinity" for the others (PostgreSQL's spelling).
std::string real_text(double value);

/// `text` with every byte that is not part of valid UTF-8 (and every NUL) replaced by '?':
/// PostgreSQL refuses such text, and a crashing trial's log may contain anything.
std::string clean_text(std::string_view text);

std::unique_ptr<Connection> open_sqlite(const std::string& path);
std::unique_ptr<Connection> open_postgres(const std::string& url);

}  // namespace plexus::core::sql
