// Several `plexus tune` processes on one study: forked workers claim and finish trials of
// one plan at once and never create a trial twice, and a worker killed with SIGKILL in the
// middle of a claim (its write transaction open) leaves a database the others go on using.
// Every case runs on SQLite and on PostgreSQL.
#define BOOST_TEST_MODULE study_storage_concurrency
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <iostream>
#include <set>
#include <thread>

#include "plexus/error.hpp"
#include "storage_backends.hpp"

using namespace plexus;
using namespace plexus::core;
using plexus::test::StorageBackend;

namespace {

const std::string kDefinition = "objective = y\ndirection = minimize\nx = int 0 39\n";
const StaleFn kNeverStale = [](const TrialRecord&) { return false; };

// A grid sampler: the first index no trial has taken. The pause widens the window in which
// a second claim could interleave if claims were not serialised.
std::vector<double> first_free_index(const std::vector<TrialRecord>& history, std::uint64_t) {
    std::set<double> taken;
    for (const TrialRecord& trial : history) taken.insert(trial.params.at(0));
    double index = 0.0;
    while (taken.count(index)) index += 1.0;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return {index};
}

// Claims and finishes trials of the plan until it is full. Runs in a forked child.
void work(const StorageBackend& backend, std::uint64_t planned, const std::string& worker) {
    auto storage = backend.open();
    storage->open("grid", kDefinition, "grid.ini");
    while (auto trial = storage->claim(planned, worker, kNeverStale, first_free_index)) {
        storage->report(trial->id, 1, trial->params[0] + 1.0);
        storage->heartbeat(worker);
        storage->finish(trial->id, TrialState::complete, trial->params[0], 1, "", "");
    }
}

// Forks a child running `body`; the child exits 0 when body returns, 1 when it throws.
template <class Body>
pid_t spawn(Body body) {
    std::cout.flush();  // else the child's first message on std::cerr repeats our output
    const pid_t pid = ::fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid > 0) return pid;
    int code = 0;
    try {
        body();
    } catch (const std::exception& error) {
        std::cerr << "worker " << ::getpid() << ": " << error.what() << "\n";
        code = 1;
    }
    ::_exit(code);  // no destructors, no Boost.Test epilogue in the child
}

void expect_exit_0(pid_t pid) {
    int status = 0;
    BOOST_REQUIRE(::waitpid(pid, &status, 0) == pid);
    BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0), "worker " << pid << " failed");
}

// The study holds trials 0 .. planned-1, complete, each grid index exactly once, and a
// SQLite file passes its integrity check.
void expect_grid_enumerated_once(const StorageBackend& backend, std::uint64_t planned) {
    auto storage = backend.open();
    storage->open("grid", kDefinition, "grid.ini");
    const auto trials = storage->trials();
    BOOST_REQUIRE(trials.size() == planned);
    std::set<double> indices;
    for (std::size_t i = 0; i < trials.size(); ++i) {
        BOOST_TEST(trials[i].number == i);
        BOOST_TEST((trials[i].state == TrialState::complete));
        BOOST_TEST(trials[i].intermediate.size() == 1u);
        indices.insert(trials[i].params.at(0));
    }
    BOOST_TEST(indices.size() == planned);
    BOOST_TEST(*indices.rbegin() == double(planned - 1));
    if (const auto* sqlite = dynamic_cast<const plexus::test::SqliteBackend*>(&backend)) {
        BOOST_TEST(sqlite->integrity() == "ok");
    }
}

}  // namespace

// Four workers start on a database that does not exist yet: they race to create the schema
// and the study too.
STORAGE_CASE(four_workers_enumerate_a_grid_once) {
    constexpr std::uint64_t kPlanned = 40;
    std::vector<pid_t> workers;
    for (int w = 0; w < 4; ++w) {
        workers.push_back(spawn([&, w] { work(backend, kPlanned, "host:" + std::to_string(w)); }));
    }
    for (pid_t pid : workers) expect_exit_0(pid);
    expect_grid_enumerated_once(backend, kPlanned);
}

STORAGE_CASE(a_worker_killed_inside_a_claim_leaves_a_usable_database) {
    constexpr std::uint64_t kPlanned = 20;
    {
        auto storage = backend.open();
        storage->open("grid", kDefinition, "grid.ini");
    }
    int inside[2];
    BOOST_REQUIRE(::pipe(inside) == 0);
    // The doomed worker says when it is inside suggest (its write transaction open and the
    // study locked), then waits to be killed.
    const pid_t doomed = spawn([&] {
        auto storage = backend.open();
        storage->open("grid", kDefinition, "grid.ini");
        storage->claim(kPlanned, "doomed:1", kNeverStale,
                       [&](const std::vector<TrialRecord>&, std::uint64_t) -> std::vector<double> {
                           const char byte = 'x';
                           if (::write(inside[1], &byte, 1) != 1) ::_exit(2);
                           for (;;) ::pause();
                       });
    });
    char byte = 0;
    BOOST_REQUIRE(::read(inside[0], &byte, 1) == 1);
    ::close(inside[0]);
    ::close(inside[1]);
    // Three workers queue behind the doomed one's lock, then it dies.
    const auto start = std::chrono::steady_clock::now();
    std::vector<pid_t> workers;
    for (int w = 0; w < 3; ++w) {
        workers.push_back(spawn([&, w] { work(backend, kPlanned, "host:" + std::to_string(w)); }));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ::kill(doomed, SIGKILL);
    int status = 0;
    BOOST_REQUIRE(::waitpid(doomed, &status, 0) == doomed);
    BOOST_TEST(WIFSIGNALED(status));
    for (pid_t pid : workers) expect_exit_0(pid);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    BOOST_TEST(seconds < 20.0);  // the lock went with the dead process, not after a timeout
    expect_grid_enumerated_once(backend, kPlanned);
}
