// plexus tune killed with kill -9 mid-study leaves no trial process behind, and the same
// command finishes the plan without duplicating a trial; two plexus tune processes on one
// SQLite study share the plan without a duplicate and leave the database intact.
#define BOOST_TEST_MODULE tune_resume
#include <boost/test/unit_test.hpp>
#include <set>

#include "tune_study.hpp"

namespace fs = std::filesystem;
using namespace plexus;
using namespace plexus::test;

namespace {

constexpr std::size_t kGrid = 6;

/// A grid of kGrid trials of ~0.6 s each (three epochs of iris, 200 ms after each).
fs::path write_study(const TempDir& dir, int parallel) {
    write_iris_experiment(dir.path, "base.ini", "",
                          "callback = fixture_curve x=${x} sleep_ms=200\n");
    write_text(dir / "s.ini",
               "[study]\nexperiment = base.ini\nobjective = val_score\ndirection = minimize\n"
               "sampler = grid\nparallel = " +
                   std::to_string(parallel) + "\n[space]\nx = choice 0.0 0.1 0.2 0.3 0.4 0.5\n");
    return dir / "s.ini";
}

/// Every grid point complete exactly once; interrupted trials failed, each re-run once.
void check_plan_met(const fs::path& study) {
    const auto trials = stored_trials(study);
    std::set<double> complete_x;
    std::set<std::uint64_t> numbers;
    for (const auto& t : trials) {
        numbers.insert(t.number);
        BOOST_TEST(int(t.state) != int(TrialState::running));
        if (t.state == TrialState::complete) {
            BOOST_TEST(complete_x.insert(t.params.at(0)).second);  // no grid point twice
        } else {
            BOOST_TEST(int(t.state) == int(TrialState::failed));
            BOOST_TEST(t.reason.rfind("interrupted", 0) == 0);
            BOOST_TEST(t.rerun);
        }
    }
    BOOST_TEST(numbers.size() == trials.size());
    BOOST_TEST(complete_x.size() == kGrid);
}

void kill_and_resume(int parallel) {
    TempDir dir("tune-kill");
    const fs::path study = write_study(dir, parallel);
    const std::vector<std::string> args{"tune", study.string(), "--plugin-path",
                                        std::string(PLEXUS_TEST_FIXTURE_DIR) + "/study"};
    const pid_t tune = spawn_plexus(args, dir / "first.log");
    // Kill it while trials run: after one has completed and others are under way.
    std::vector<pid_t> children;
    const bool started = wait_until(
        [&] {
            if (!fs::exists(dir / "s" / "study.db")) return false;
            const auto trials = stored_trials(study);
            children = processes_mentioning(dir.path.string() + "/s/trials/");
            return count_state(trials, TrialState::complete) >= 1 &&
                   children.size() >= static_cast<std::size_t>(parallel);
        },
        30);
    BOOST_REQUIRE(started);
    kill(tune, SIGKILL);
    wait_exit(tune);
    // The guard kills the trial's process group as soon as it sees its parent die.
    BOOST_TEST(
        wait_until([&] { return processes_mentioning(dir.path.string() + "/").empty(); }, 5));
    // A killed process loses its command line before it has finished exiting: wait for that.
    BOOST_TEST(wait_until(
        [&] { return std::all_of(children.begin(), children.end(), process_ended); }, 5));
    BOOST_TEST(count_state(stored_trials(study), TrialState::running) >= 1u);

    const auto r = run_plexus("tune '" + study.string() + "' " + kStudyPlugins);
    BOOST_TEST_INFO(r.out + r.err);
    BOOST_TEST(r.exit_code == 0);
    check_plan_met(study);
}

}  // namespace

BOOST_AUTO_TEST_CASE(kill_9_then_the_same_command_finishes_the_plan) {
    kill_and_resume(1);
}

BOOST_AUTO_TEST_CASE(kill_9_with_two_parallel_trials_then_resume) {
    kill_and_resume(2);
}

BOOST_AUTO_TEST_CASE(two_tune_processes_share_one_sqlite_study) {
    TempDir dir("tune-two");
    const fs::path study = write_study(dir, 1);
    const std::vector<std::string> args{"tune", study.string(), "--plugin-path",
                                        std::string(PLEXUS_TEST_FIXTURE_DIR) + "/study"};
    const pid_t a = spawn_plexus(args, dir / "a.log");
    const pid_t b = spawn_plexus(args, dir / "b.log");
    BOOST_TEST(wait_exit(a) == 0);
    BOOST_TEST(wait_exit(b) == 0);
    BOOST_TEST_INFO(read_text(dir / "a.log") + read_text(dir / "b.log"));
    const auto trials = stored_trials(study);
    BOOST_TEST(trials.size() == kGrid);  // nothing interrupted: no re-runs either
    check_plan_met(study);
    std::set<std::string> workers;
    for (const auto& t : trials) workers.insert(t.worker);
    BOOST_TEST(workers.size() == 2u);  // both did work
    const std::string integrity = "sqlite3 '" + (dir / "s" / "study.db").string() +
                                  "' 'PRAGMA integrity_check' > '" +
                                  (dir / "integrity.txt").string() + "'";
    BOOST_REQUIRE(std::system(integrity.c_str()) == 0);
    BOOST_TEST(read_text(dir / "integrity.txt") == "ok\n");
}

BOOST_AUTO_TEST_CASE(kill_9_takes_down_what_a_command_trial_started) {
    TempDir dir("tune-grandchild");
    // /bin/sh forks `sleep` (a grandchild of plexus tune); its unique duration finds it.
    const std::string sleep = "sleep 60." + std::to_string(getpid());
    write_text(dir / "s.ini", "[study]\ncommand = " + sleep +
                                  "; echo ${a}\nobjective = f\ndirection = minimize\n"
                                  "sampler = grid\nparallel = 2\n[space]\na = int 1 4\n");
    const pid_t tune = spawn_plexus({"tune", (dir / "s.ini").string()}, dir / "tune.log");
    // Two trials running: each a /bin/sh (its command line holds the command) and its sleep.
    BOOST_REQUIRE(wait_until([&] { return processes_mentioning(sleep).size() == 4; }, 10));
    kill(tune, SIGKILL);
    wait_exit(tune);
    BOOST_TEST(wait_until([&] { return processes_mentioning(sleep).empty(); }, 5));
}

BOOST_AUTO_TEST_CASE(ctrl_c_stops_the_trials_and_a_changed_space_is_refused) {
    TempDir dir("tune-int");
    const std::string sleep = "sleep 0.8" + std::to_string(getpid() % 1000);
    const auto study = [&](const std::string& space) {
        write_text(dir / "s.ini", "[study]\ncommand = " + sleep +
                                      "; echo ${a}\nobjective = f\ndirection = minimize\n"
                                      "sampler = grid\nparallel = 2\n[space]\n" +
                                      space);
    };
    study("a = int 1 4\n");
    const pid_t tune = spawn_plexus({"tune", (dir / "s.ini").string()}, dir / "tune.log");
    BOOST_REQUIRE(wait_until([&] { return processes_mentioning(sleep).size() == 4; }, 10));
    kill(tune, SIGINT);
    BOOST_TEST(wait_exit(tune) == 130);
    BOOST_TEST(processes_mentioning(sleep).empty());  // killed before tune returned
    BOOST_TEST(read_text(dir / "tune.log").find("interrupted: 2 running trial(s)") !=
               std::string::npos);
    BOOST_TEST(count_state(stored_trials(dir / "s.ini"), TrialState::running) == 2u);

    auto r = run_plexus("tune '" + (dir / "s.ini").string() + "'");
    BOOST_TEST_INFO(r.out + r.err);
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(count_state(stored_trials(dir / "s.ini"), TrialState::complete) == 4u);

    study("a = int 1 5\n");
    r = run_plexus("tune '" + (dir / "s.ini").string() + "'");
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.err.find("exists with another definition") != std::string::npos);
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}
