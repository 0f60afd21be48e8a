// The study storage keeps exactly what it is given, claims trials by the plan (interrupted
// ones re-run exactly once), refuses a changed study and a newer schema, and turns damaged
// database content into one-line errors. Every case runs on SQLite and on PostgreSQL.
#define BOOST_TEST_MODULE study_storage
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <ostream>
#include <thread>

#include "plexus/error.hpp"
#include "storage_backends.hpp"

using namespace plexus;
using namespace plexus::core;
using plexus::test::StorageBackend;

namespace plexus {
std::ostream& operator<<(std::ostream& out, TrialState state) {
    return out << static_cast<int>(state);
}
}  // namespace plexus

namespace {

const std::string kDefinition =
    "objective = val_loss\ndirection = minimize\nlr = loguniform 1e-4 1e-1\n";
const StaleFn kNeverStale = [](const TrialRecord&) { return false; };

SuggestFn constant(std::vector<double> params) {
    return [params](const std::vector<TrialRecord>&, std::uint64_t) { return params; };
}

std::unique_ptr<StudyStorage> opened(const StorageBackend& backend) {
    auto storage = backend.open();
    storage->open("s", kDefinition, "study.ini");
    return storage;
}

bool same_bits(double a, double b) {
    return std::memcmp(&a, &b, sizeof a) == 0;
}

// The error `body` throws, or "" when it throws none.
template <class Body>
std::string error_of(Body body) {
    try {
        body();
    } catch (const Error& error) {
        return error.what();
    }
    return "";
}

}  // namespace

STORAGE_CASE(round_trip) {
    auto storage = opened(backend);
    std::vector<std::size_t> history_sizes;
    const std::vector<double> params{0.1, 1e-300, -3.0, 123456789.123456789};
    const SuggestFn suggest = [&](const std::vector<TrialRecord>& history, std::uint64_t number) {
        history_sizes.push_back(history.size());
        BOOST_TEST(number == history.size());
        if (!history.empty()) BOOST_TEST(history[0].state == TrialState::complete);
        return params;
    };
    const auto first = storage->claim(10, "host:1", kNeverStale, suggest);
    BOOST_REQUIRE(first);
    BOOST_TEST(first->number == 0u);
    BOOST_TEST(first->state == TrialState::running);
    BOOST_TEST(first->worker == "host:1");
    BOOST_TEST(first->started > 1.6e9);  // Unix seconds, not days or milliseconds
    storage->report(first->id, 1, 0.5);
    storage->report(first->id, 2, 0.25);
    storage->report(first->id, 2, 0.125);  // an epoch reported again keeps the last value
    storage->heartbeat("host:1");
    storage->finish(first->id, TrialState::complete, 0.125, 2, "", "");

    const auto second = storage->claim(10, "host:1", kNeverStale, suggest);
    BOOST_REQUIRE(second);
    storage->finish(second->id, TrialState::pruned, std::nullopt, 1, "pruned at epoch 1", "");
    const auto third = storage->claim(10, "host:2", kNeverStale, suggest);
    BOOST_REQUIRE(third);
    storage->finish(third->id, TrialState::failed, std::nullopt, 0, "segfault",
                    std::string("last line\n\xff") + '\0' + "end \u00e9 \xC0\xAF");
    BOOST_TEST((history_sizes == std::vector<std::size_t>{0, 1, 2}));

    const auto trials = storage->trials();
    BOOST_REQUIRE(trials.size() == 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        BOOST_TEST(trials[i].number == i);
        BOOST_REQUIRE(trials[i].params.size() == params.size());
        for (std::size_t k = 0; k < params.size(); ++k)
            BOOST_TEST(same_bits(trials[i].params[k], params[k]));
        BOOST_TEST(trials[i].finished >= trials[i].started);
        BOOST_TEST(trials[i].heartbeat_age > -1.0);
        BOOST_TEST(trials[i].heartbeat_age < 60.0);
        BOOST_TEST(!trials[i].rerun_of);
        BOOST_TEST(!trials[i].rerun);
    }
    BOOST_TEST(trials[0].id == first->id);
    BOOST_TEST(trials[0].state == TrialState::complete);
    BOOST_TEST((trials[0].value == std::optional<double>(0.125)));
    BOOST_TEST(trials[0].epochs == 2u);
    BOOST_TEST((trials[0].intermediate ==
                std::vector<std::pair<std::uint64_t, double>>{{1, 0.5}, {2, 0.125}}));
    BOOST_TEST(trials[1].state == TrialState::pruned);
    BOOST_TEST(trials[1].reason == "pruned at epoch 1");
    BOOST_TEST(!trials[1].value);
    BOOST_TEST(trials[2].state == TrialState::failed);
    BOOST_TEST(trials[2].worker == "host:2");
    BOOST_TEST(trials[2].reason == "segfault");
    // Bytes that are not UTF-8 (PostgreSQL refuses them) become '?'.
    BOOST_TEST(trials[2].log_tail == "last line\n??end \u00e9 ??");  // é kept, overlong '/' not

    BOOST_TEST(!storage->attribute("best"));
    storage->set_attribute("best", "0.125");
    storage->set_attribute("best", "0.0625");
    storage->set_attribute("test_accuracy", "0.9");
    BOOST_TEST((storage->attribute("best") == std::optional<std::string>("0.0625")));
    BOOST_TEST(backend.open() != nullptr);
    auto again = opened(backend);  // another process sees the same
    BOOST_TEST((again->attribute("test_accuracy") == std::optional<std::string>("0.9")));
    BOOST_TEST(again->trials().size() == 3u);
}

STORAGE_CASE(changed_definition_is_refused) {
    opened(backend)->claim(5, "host:1", kNeverStale, constant({0.01}));
    BOOST_TEST(opened(backend)->trials().size() == 1u);  // the same definition reopens
    const std::string changed = "objective = val_loss\ndirection = minimize\nlr = uniform 0 1\n";
    const std::string message =
        error_of([&] { backend.open()->open("s", changed, "tune/study.ini"); });
    BOOST_TEST(message.find("tune/study.ini: study 's' exists with another definition") == 0u,
               message);
    BOOST_TEST(
        message.find("'lr = uniform 0 1' (was 'lr = loguniform 1e-4 1e-1')") != std::string::npos,
        message);
    BOOST_TEST(message.find("use a new study name or delete") != std::string::npos, message);
    // Another study in the same database is independent.
    auto other = backend.open();
    other->open("t", changed, "t.ini");
    BOOST_TEST(other->trials().empty());
}

STORAGE_CASE(planned_trials_count_failed_and_running) {
    auto storage = opened(backend);
    const auto a = storage->claim(3, "w:1", kNeverStale, constant({1.0}));
    const auto b = storage->claim(3, "w:1", kNeverStale, constant({2.0}));
    BOOST_REQUIRE((a && b));
    storage->finish(a->id, TrialState::failed, std::nullopt, 0, "timeout after 900 s", "");
    const auto c = storage->claim(3, "w:2", kNeverStale, constant({3.0}));  // b still running
    BOOST_REQUIRE(c);
    BOOST_TEST(c->number == 2u);
    BOOST_TEST(!storage->claim(3, "w:2", kNeverStale, constant({4.0})));
    BOOST_TEST(storage->claim(4, "w:2", kNeverStale, constant({4.0}))->number == 3u);
    BOOST_TEST(!storage->claim(0, "w:2", kNeverStale, constant({5.0})));
}

STORAGE_CASE(interrupted_trials_rerun_exactly_once) {
    auto storage = opened(backend);
    const auto lost = storage->claim(3, "dead:7", kNeverStale, constant({0.5, 7.0}));
    storage->report(lost->id, 1, 3.0);
    const auto done = storage->claim(3, "live:1", kNeverStale, constant({0.25, 1.0}));
    storage->finish(done->id, TrialState::complete, 1.5, 3, "", "");

    std::vector<std::uint64_t> asked;  // stale() sees running trials only
    const StaleFn dead = [&](const TrialRecord& t) {
        asked.push_back(t.number);
        return t.worker == "dead:7";
    };
    bool suggested = false;
    const SuggestFn suggest = [&](const std::vector<TrialRecord>&, std::uint64_t) {
        suggested = true;
        return std::vector<double>{9.0, 9.0};
    };
    const auto rerun = storage->claim(3, "live:1", dead, suggest);
    BOOST_REQUIRE(rerun);
    BOOST_TEST((asked == std::vector<std::uint64_t>{0}));
    BOOST_TEST(!suggested);
    BOOST_TEST(rerun->number == 2u);
    BOOST_TEST((rerun->params == std::vector<double>{0.5, 7.0}));
    BOOST_TEST((rerun->rerun_of == std::optional<std::uint64_t>(0)));

    // The interrupted trial does not count: one more trial is planned, and it is new.
    const auto fresh = storage->claim(3, "live:1", dead, suggest);
    BOOST_REQUIRE(fresh);
    BOOST_TEST(suggested);
    BOOST_TEST((fresh->params == std::vector<double>{9.0, 9.0}));
    BOOST_TEST(!storage->claim(3, "live:1", dead, suggest));

    const auto trials = storage->trials();
    BOOST_REQUIRE(trials.size() == 4u);
    BOOST_TEST(trials[0].state == TrialState::failed);
    BOOST_TEST(trials[0].reason.rfind("interrupted: worker dead:7", 0) == 0u, trials[0].reason);
    BOOST_TEST(trials[0].rerun);
    BOOST_TEST(trials[0].intermediate.size() == 1u);  // kept for the record
    BOOST_TEST((trials[2].rerun_of == std::optional<std::uint64_t>(0)));
    BOOST_TEST(!trials[2].rerun);
    BOOST_TEST(!trials[3].rerun_of);
}

STORAGE_CASE(finishing_an_interrupted_trial_changes_nothing) {
    auto storage = opened(backend);
    const auto slow = storage->claim(2, "slow:1", kNeverStale, constant({1.0}));
    storage->claim(
        2, "w:2", [](const TrialRecord&) { return true; }, constant({2.0}));
    storage->report(slow->id, 1, 0.5);
    storage->finish(slow->id, TrialState::complete, 0.5, 1, "", "");
    const auto trials = storage->trials();
    BOOST_TEST(trials[0].state == TrialState::failed);
    BOOST_TEST(!trials[0].value);
    BOOST_TEST(trials[0].intermediate.empty());
}

STORAGE_CASE(failing_suggest_leaves_nothing) {
    auto storage = opened(backend);
    const SuggestFn throwing = [](const std::vector<TrialRecord>&,
                                  std::uint64_t) -> std::vector<double> {
        throw Error("sampler broke");
    };
    BOOST_CHECK_THROW(storage->claim(5, "w:1", kNeverStale, throwing), Error);
    BOOST_TEST(storage->trials().empty());
    BOOST_CHECK_THROW(storage->claim(5, "w:1", kNeverStale, constant({std::nan("")})), Error);
    BOOST_TEST(storage->claim(5, "w:1", kNeverStale, constant({1.0}))->number == 0u);
    // Every trial of a study has as many parameters as the space.
    BOOST_CHECK_THROW(storage->claim(5, "w:1", kNeverStale, constant({1.0, 2.0})), Error);
}

// Each statement damages trial 0 of a study of two trials; reading must say which
// database and which trial, in one line.
STORAGE_CASE(damaged_content_is_a_one_line_error) {
    std::vector<std::string> damages = {
        "UPDATE trials SET params = 'abc' WHERE number = 0",
        "UPDATE trials SET params = '[1, \"x\"]' WHERE number = 0",
        "UPDATE trials SET params = '[1e999]' WHERE number = 0",
        "UPDATE trials SET params = '{\"a\": 1}' WHERE number = 0",
        "UPDATE trials SET state = 'exploded' WHERE number = 0",
        "UPDATE trials SET epochs = -3 WHERE number = 0",
        "UPDATE trials SET epochs = 9000000000000 WHERE number = 0",
        "UPDATE trials SET number = 5 WHERE number = 0",
        "UPDATE trials SET rerun_of = 7 WHERE number = 0",
        "UPDATE trials SET rerun = 2 WHERE number = 0",
        "UPDATE trials SET started = -1 WHERE number = 0",
        "UPDATE trials SET value = NULL WHERE number = 0",
        "UPDATE intermediate SET step = 0",
    };
    if (dynamic_cast<plexus::test::SqliteBackend*>(&backend)) {
        // SQLite keeps whatever is written, whatever the column type.
        damages.push_back("UPDATE trials SET epochs = 'NaN' WHERE number = 0");
        damages.push_back("UPDATE trials SET epochs = 2.5 WHERE number = 0");
        damages.push_back("UPDATE trials SET value = 'abc' WHERE number = 0");
        damages.push_back("UPDATE trials SET params = 42 WHERE number = 0");
        damages.push_back("UPDATE trials SET finished = 'yesterday' WHERE number = 0");
    } else {
        damages.push_back("UPDATE trials SET value = 'NaN' WHERE number = 0");
        damages.push_back("UPDATE trials SET heartbeat = 'Infinity' WHERE number = 0");
    }
    opened(backend);  // creates the schema
    // A study of two trials: 0 complete with an intermediate value, 1 running.
    const auto fresh = [&] {
        backend.exec("DELETE FROM intermediate; DELETE FROM trials; DELETE FROM studies");
        auto storage = opened(backend);
        const auto a = storage->claim(9, "w:1", kNeverStale, constant({1.0}));
        storage->report(a->id, 1, 2.0);
        storage->finish(a->id, TrialState::complete, 2.0, 1, "", "");
        storage->claim(9, "w:1", kNeverStale, constant({2.0}));
        return storage;
    };
    for (const std::string& damage : damages) {
        auto storage = fresh();
        backend.exec(damage);
        const std::string message = error_of([&] { storage->trials(); });
        BOOST_TEST_CONTEXT(damage) {
            BOOST_TEST(message.find(backend.name() + ": study 's': trial 0: ") == 0u, message);
            BOOST_TEST(message.find("damaged") != std::string::npos, message);
            BOOST_TEST(message.find('\n') == std::string::npos, message);
            // A claim reads the same history: it refuses too, and writes nothing.
            BOOST_TEST(
                !error_of([&] { storage->claim(9, "w:1", kNeverStale, constant({3.0})); }).empty());
        }
    }
    // A trial with more parameters than the others: the later one is named.
    fresh();
    backend.exec("UPDATE trials SET params = '[1, 2]' WHERE number = 1");
    const std::string message = error_of([&] { opened(backend)->trials(); });
    BOOST_TEST(message.find(backend.name() + ": study 's': trial 1: params hold 2 values where the "
                                             "other trials hold 1") == 0u,
               message);
}

STORAGE_CASE(newer_schema_is_refused) {
    opened(backend);
    backend.exec("UPDATE meta SET value = '2' WHERE key = 'schema_version'");
    const std::string message = error_of([&] { backend.open(); });
    BOOST_TEST(message.find(backend.name() + ": study database schema version '2'") == 0u, message);
    BOOST_CHECK_THROW(backend.open(), ConfigError);
}

STORAGE_CASE(storage_before_open_is_a_programming_error) {
    auto storage = backend.open();
    BOOST_CHECK_THROW(storage->trials(), std::logic_error);
}

// Ages come from the storage's clock: a heartbeat written 100 s earlier reads as 100 s old
// whatever this host's clock says, and heartbeat() renews only its worker's running trials.
STORAGE_CASE(heartbeat_ages_use_the_storage_clock) {
    auto storage = opened(backend);
    const auto mine = storage->claim(5, "me:1", kNeverStale, constant({1.0}));
    const auto other = storage->claim(5, "other:2", kNeverStale, constant({2.0}));
    backend.exec("UPDATE trials SET heartbeat = heartbeat - 100");
    auto trials = storage->trials();
    BOOST_TEST(trials[0].heartbeat_age > 99.0);
    BOOST_TEST(trials[0].heartbeat_age < 130.0);
    storage->heartbeat("me:1");
    trials = storage->trials();
    BOOST_TEST(trials[0].heartbeat_age < 20.0);
    BOOST_TEST(trials[1].heartbeat_age > 99.0);
    // The stale check sees the same ages.
    std::vector<double> seen;
    storage->claim(
        5, "me:1",
        [&](const TrialRecord& t) {
            seen.push_back(t.heartbeat_age);
            return false;
        },
        constant({3.0}));
    BOOST_REQUIRE(seen.size() == 2u);
    BOOST_TEST(seen[1] > 99.0);
    BOOST_TEST(mine->id != other->id);
}

BOOST_AUTO_TEST_CASE(storage_urls) {
    plexus::test::TempDir dir("storage-url");
    const auto folder = dir / "study";
    // "sqlite:PATH" is relative to the study folder.
    core::open_storage("sqlite:other.db", folder / "study.db")->open("s", kDefinition, "s.ini");
    BOOST_TEST(std::filesystem::exists(folder / "other.db"));
    BOOST_TEST(!std::filesystem::exists(folder / "study.db"));
    const std::string unknown =
        error_of([&] { core::open_storage("mysql://x", folder / "study.db"); });
    BOOST_TEST(unknown.find("storage 'mysql://x': unknown kind") == 0u, unknown);
    BOOST_CHECK_THROW(core::open_storage("sqlite:", folder / "study.db"), ConfigError);
}

BOOST_AUTO_TEST_CASE(sqlite_file_that_is_not_a_database) {
    plexus::test::TempDir dir("storage-garbage");
    const auto file = dir / "study.db";
    std::ofstream(file) << "this is not an SQLite file, it is a text file of some length......\n";
    const std::string message = error_of([&] { core::open_storage("", file); });
    BOOST_TEST(message.find(file.string() + ": ") == 0u, message);
    BOOST_TEST(message.find("not a database") != std::string::npos, message);
}

// A claim waits for another process's write transaction instead of failing at once.
BOOST_AUTO_TEST_CASE(sqlite_claim_waits_for_a_busy_file) {
    plexus::test::SqliteBackend backend;
    auto storage = opened(backend);
    sqlite3* holder = nullptr;
    sqlite3_open(backend.file().c_str(), &holder);
    BOOST_REQUIRE(sqlite3_exec(holder, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
    std::thread release([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        sqlite3_exec(holder, "COMMIT", nullptr, nullptr, nullptr);
    });
    const auto start = std::chrono::steady_clock::now();
    const auto trial = storage->claim(1, "w:1", kNeverStale, constant({1.0}));
    const double waited =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    release.join();
    sqlite3_close(holder);
    BOOST_TEST(trial.has_value());
    BOOST_TEST(waited > 0.4);
}

// Without a server: the message is one line, names the URL and never shows the password.
BOOST_AUTO_TEST_CASE(postgres_unreachable_server) {
    const std::string url = "postgresql://tuner:s3cret@127.0.0.1:1/studies?connect_timeout=5";
    const std::string message = error_of([&] { core::open_storage(url, "unused.db"); });
    BOOST_TEST(
        message.find(
            "postgresql://tuner@127.0.0.1:1/studies?connect_timeout=5: cannot connect: ") == 0u,
        message);
    BOOST_TEST(message.find("s3cret") == std::string::npos, message);
    BOOST_TEST(message.find('\n') == std::string::npos, message);
    const std::string keyword = error_of([&] {
        core::open_storage("postgres://127.0.0.1:1/x?password=s3cret&user=a", "unused.db");
    });
    BOOST_TEST(keyword.find("password=***&user=a: cannot connect") != std::string::npos, keyword);
    BOOST_TEST(keyword.find("s3cret") == std::string::npos, keyword);
}

BOOST_AUTO_TEST_CASE(state_names) {
    BOOST_TEST(std::string(trial_state_name(TrialState::running)) == "running");
    BOOST_TEST(std::string(trial_state_name(TrialState::complete)) == "complete");
    BOOST_TEST(std::string(trial_state_name(TrialState::pruned)) == "pruned");
    BOOST_TEST(std::string(trial_state_name(TrialState::failed)) == "failed");
}
