// `plexus tune` on a PostgreSQL study: two processes share one plan without a duplicate,
// and kill -9 then the same command finishes the plan, re-running the interrupted trials
// once. (test_tune_resume does the same on SQLite.) Needs PLEXUS_TEST_POSTGRES_URL: CTest
// runs it inside pg_virtualenv as test_study_storage_postgres.
#define BOOST_TEST_MODULE study_storage_tune
#include <boost/test/unit_test.hpp>
#include <set>

#include "storage_backends.hpp"
#include "tune_study.hpp"

using plexus::TrialState;
using std::filesystem::path;
using namespace plexus::test;

namespace {

// The grid: one trial per value of x, about 0.6 s each (three epochs of iris, 200 ms after
// each).
const std::set<double> kGrid = {0.0, 0.1, 0.2, 0.3, 0.4, 0.5};

path write_study(const TempDir& dir) {
    write_iris_experiment(dir.path, "base.ini", "",
                          "callback = fixture_curve x=${x} sleep_ms=200\n");
    std::string space = "x = choice";
    for (double x : kGrid) space += " " + std::to_string(x);
    write_text(dir / "s.ini",
               "[study]\nexperiment = base.ini\nobjective = val_score\n"
               "direction = minimize\nsampler = grid\n[space]\n" +
                   space + "\n");
    return dir / "s.ini";
}

std::vector<std::string> tune_args(const path& study, const StorageBackend& backend) {
    return {"tune",        study.string(),  "--storage",
            backend.url(), "--plugin-path", std::string(PLEXUS_TEST_FIXTURE_DIR) + "/study"};
}

std::vector<plexus::core::TrialRecord> trials_of(const path& study, const StorageBackend& backend) {
    const plexus::core::StudySpec spec = plexus::core::load_study(study);
    auto storage = backend.open();
    storage->open(spec.name, spec.definition(), study.string());
    return storage->trials();
}

// Every grid point complete exactly once; the others failed as interrupted and re-run.
void expect_plan_met(const std::vector<plexus::core::TrialRecord>& trials) {
    std::set<double> complete;
    for (const auto& t : trials) {
        if (t.state == TrialState::complete) {
            BOOST_TEST(complete.insert(t.params.at(0)).second);  // no grid index twice
        } else {
            BOOST_TEST(int(t.state) == int(TrialState::failed));
            BOOST_TEST(t.reason.rfind("interrupted", 0) == 0u, t.reason);
            BOOST_TEST(t.rerun);
        }
    }
    BOOST_TEST(complete.size() == kGrid.size());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(postgres, *boost::unit_test::precondition(HavePostgres{}))

BOOST_AUTO_TEST_CASE(two_tune_processes_share_one_study) {
    PostgresBackend backend;
    TempDir dir("tune-pg-two");
    const path study = write_study(dir);
    const pid_t a = spawn_plexus(tune_args(study, backend), dir / "a.log");
    const pid_t b = spawn_plexus(tune_args(study, backend), dir / "b.log");
    BOOST_TEST(wait_exit(a) == 0);
    BOOST_TEST(wait_exit(b) == 0);
    BOOST_TEST_INFO(read_text(dir / "a.log") + read_text(dir / "b.log"));
    const auto trials = trials_of(study, backend);
    BOOST_TEST(trials.size() == kGrid.size());  // nothing interrupted: no re-runs either
    expect_plan_met(trials);
    std::set<std::string> workers;
    for (const auto& t : trials) workers.insert(t.worker);
    BOOST_TEST(workers.size() == 2u);  // both did work
}

BOOST_AUTO_TEST_CASE(kill_9_then_the_same_command_finishes_the_plan) {
    PostgresBackend backend;
    TempDir dir("tune-pg-kill");
    const path study = write_study(dir);
    const pid_t tune = spawn_plexus(tune_args(study, backend), dir / "first.log");
    const bool midway = wait_until(
        [&] {
            try {
                const auto trials = trials_of(study, backend);
                return count_state(trials, TrialState::complete) >= 1 &&
                       count_state(trials, TrialState::running) >= 1;
            } catch (const std::exception&) {  // the study does not exist yet
                return false;
            }
        },
        30);
    BOOST_REQUIRE(midway);
    kill(tune, SIGKILL);
    wait_exit(tune);
    const pid_t again = spawn_plexus(tune_args(study, backend), dir / "second.log");
    BOOST_TEST(wait_exit(again) == 0);
    BOOST_TEST_INFO(read_text(dir / "first.log") + read_text(dir / "second.log"));
    const auto trials = trials_of(study, backend);
    BOOST_TEST(trials.size() > kGrid.size());  // the interrupted trial, then its re-run
    expect_plan_met(trials);
}

BOOST_AUTO_TEST_SUITE_END()
