// plexus tune end to end: trials that crash, hang, diverge or exit are recorded failed with
// their reason and log tail while the study completes the others; command studies; the test
// set is read once, for the best trial only; best.ini runs; one-line errors.
#define BOOST_TEST_MODULE tune
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <string>

#include "plexus/support/text.hpp"
#include "tune_study.hpp"

namespace fs = std::filesystem;
using namespace plexus;
using namespace plexus::test;

namespace {

const core::TrialRecord* find_trial(const std::vector<core::TrialRecord>& trials,
                                    std::size_t mode) {
    for (const auto& t : trials)
        if (!t.params.empty() && t.params[0] == static_cast<double>(mode)) return &t;
    return nullptr;
}

#ifdef __SANITIZE_ADDRESS__
// A sanitized `plexus train` needs seconds to start; and ASan's own SEGV handler would turn
// the crash into an exit status, where the study must see the signal.
constexpr int kTrialTimeout = 30;
struct RealSignals {
    RealSignals() {
        const char* given = std::getenv("ASAN_OPTIONS");
        const std::string options = std::string(given ? given : "") + ":handle_segv=0";
        ::setenv("ASAN_OPTIONS", options.c_str(), 1);
    }
};
BOOST_TEST_GLOBAL_FIXTURE(RealSignals);
#else
constexpr int kTrialTimeout = 2;
#endif

}  // namespace

BOOST_AUTO_TEST_CASE(failed_trials_are_recorded_with_reason_and_the_study_goes_on) {
    TempDir dir("tune-fail");
    write_iris_experiment(dir.path, "base.ini", "layer = fixture_crash mode=${mode} after=3\n",
                          "callback = fixture_curve x=0.3\n");
    write_text(dir / "crash.ini",
               "[study]\nexperiment = base.ini\nobjective = val_score\ndirection = minimize\n"
               "sampler = grid\ntimeout = " +
                   std::to_string(kTrialTimeout) +
                   "\nparallel = 2\n[space]\n"
                   "mode = choice none segv hang nan exit\n");
    const auto r = run_plexus("tune '" + (dir / "crash.ini").string() + "' " + kStudyPlugins);
    BOOST_TEST_INFO(r.out + r.err);
    BOOST_TEST(r.exit_code == 0);
    const auto trials = stored_trials(dir / "crash.ini");
    BOOST_REQUIRE(trials.size() == 5u);
    const auto* none = find_trial(trials, 0);
    const auto* segv = find_trial(trials, 1);
    const auto* hang = find_trial(trials, 2);
    const auto* nan = find_trial(trials, 3);
    const auto* exit3 = find_trial(trials, 4);
    BOOST_REQUIRE(none && segv && hang && nan && exit3);
    BOOST_TEST(int(none->state) == int(TrialState::complete));
    // val_score = (0.3 - 0.3)^2 + 0.5 / epoch: best at the third epoch.
    BOOST_TEST(none->value.value_or(-1) == 0.5 / 3, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(none->epochs == 3u);
    BOOST_TEST(int(segv->state) == int(TrialState::failed));
    BOOST_TEST(segv->reason == "crashed: signal 11 (SIGSEGV)");
    BOOST_TEST(int(hang->state) == int(TrialState::failed));
    BOOST_TEST(hang->reason == "timeout after " + std::to_string(kTrialTimeout) + " s");
    BOOST_TEST(int(nan->state) == int(TrialState::failed));
    BOOST_TEST(nan->reason.rfind("diverged at epoch 1", 0) == 0);
    BOOST_TEST(int(exit3->state) == int(TrialState::failed));
    BOOST_TEST(exit3->reason.rfind("exit status 3: ", 0) == 0);
    // The log tail is the trial's own output: the model summary it printed before dying.
    for (const auto* t : {segv, hang, nan, exit3}) {
        BOOST_TEST(t->log_tail.find("total parameters") != std::string::npos);
        BOOST_TEST(t->log_tail.find(" 0 test samples") != std::string::npos);
    }
    const std::string board = read_text(dir / "crash" / "leaderboard.csv");
    // rank,trial,state,objective,epochs,seconds,mode,reason: the complete trial ranks first.
    const auto rows = support::split(board, '\n');
    BOOST_REQUIRE(rows.size() >= 2u);
    const auto first = support::split(rows[1], ',');
    BOOST_REQUIRE(first.size() == 8u);
    BOOST_TEST(first[0] == "1");
    BOOST_TEST(first[1] == std::to_string(none->number));
    BOOST_TEST(first[2] == "complete");
    BOOST_TEST(first[3] == "0.16666666666666666");
    BOOST_TEST(first[6] == "none");
    BOOST_TEST(r.out.find("crashed: signal 11 (SIGSEGV)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(command_studies_read_the_last_line_and_fail_on_anything_else) {
    TempDir dir("tune-cmd");
    write_text(dir / "cmd.ini",
               "[study]\ncommand = if [ ${a} = 3 ]; then echo oops; elif [ ${a} = 4 ]; then "
               "kill -SEGV $$; else echo log >&2; echo ${a}9; fi\n"
               "objective = f\ndirection = maximize\nsampler = grid\n[space]\na = int 1 4\n");
    const auto r = run_plexus("tune '" + (dir / "cmd.ini").string() + "'");
    BOOST_TEST_INFO(r.out + r.err);
    BOOST_TEST(r.exit_code == 0);
    const auto trials = stored_trials(dir / "cmd.ini");
    BOOST_REQUIRE(trials.size() == 4u);
    for (const auto& t : trials) {
        const int a = static_cast<int>(t.params.at(0));
        if (a <= 2) {
            BOOST_TEST(int(t.state) == int(TrialState::complete));
            BOOST_TEST(t.value.value_or(0) == a * 10 + 9);
        } else if (a == 3) {
            BOOST_TEST(t.reason == "the command's last line is not a finite number: 'oops'");
        } else {
            BOOST_TEST(t.reason == "crashed: signal 11 (SIGSEGV)");
        }
    }
    BOOST_TEST(r.out.find("best: trial") != std::string::npos);
    BOOST_TEST(r.out.find("f 29.0000") != std::string::npos);  // maximized: a = 2
}

BOOST_AUTO_TEST_CASE(the_test_set_is_read_once_for_the_best_trial_only) {
    TempDir dir("tune-test");
    // A corrupt test file: any trial that opened it would fail; only the final evaluation may.
    write_text(dir / "corrupt.csv", "sepal_length,species\n1.0\n\"unterminated\n");
    write_iris_experiment(dir.path, "base.ini", "", "callback = fixture_curve x=${x}\n",
                          "csv:corrupt.csv label=species");
    write_text(dir / "s.ini",
               "[study]\nexperiment = base.ini\nobjective = val_score\ndirection = minimize\n"
               "sampler = grid\n[space]\nx = choice 0.1 0.3 0.6\n");
    const auto r = run_plexus("tune '" + (dir / "s.ini").string() + "' " + kStudyPlugins);
    BOOST_TEST_INFO(r.out + r.err);
    BOOST_TEST(r.exit_code == 1);
    const auto trials = stored_trials(dir / "s.ini");
    BOOST_TEST(count_state(trials, TrialState::complete) == 3u);
    BOOST_TEST(r.out.find("test evaluation of trial") != std::string::npos);
    BOOST_TEST(r.out.find("corrupt.csv") != std::string::npos);
    BOOST_TEST(fs::exists(dir / "s" / "best.ini"));
}

BOOST_AUTO_TEST_CASE(best_ini_trains_with_the_best_values_and_the_test_metrics_are_stored) {
    TempDir dir("tune-best");
    write_iris_experiment(dir.path, "base.ini", "", "callback = fixture_curve x=${x}\n");
    write_text(dir / "s.ini",
               "[study]\nexperiment = base.ini\nobjective = val_score\ndirection = minimize\n"
               "sampler = grid\n[space]\nx = choice 0.6 0.3 0.1\n");
    const auto r = run_plexus("tune '" + (dir / "s.ini").string() + "' " + kStudyPlugins);
    BOOST_TEST_INFO(r.out + r.err);
    BOOST_REQUIRE(r.exit_code == 0);
    const std::string best = read_text(dir / "s" / "best.ini");
    BOOST_TEST(best.find("callback = fixture_curve x=0.3") != std::string::npos);
    BOOST_TEST(r.out.find("test (30 samples): accuracy") != std::string::npos);
    const auto metrics = open_study(dir / "s.ini")->attribute("test_metrics");
    BOOST_REQUIRE(metrics.has_value());
    BOOST_TEST(metrics->find("\"accuracy\"") != std::string::npos);
    // best.ini runs from anywhere: its data path still starts at the base experiment's folder.
    const auto train = run_plexus("train '" + (dir / "s" / "best.ini").string() + "' --out '" +
                                  (dir / "runs").string() + "' " + kStudyPlugins);
    BOOST_TEST_INFO(train.out + train.err);
    BOOST_TEST(train.exit_code == 0);
    const auto shown = run_plexus("study '" + (dir / "s").string() + "'");
    BOOST_TEST(shown.exit_code == 0);
    BOOST_TEST(shown.out.find("x=0.3") != std::string::npos);
    BOOST_TEST(shown.out.find("test (30 samples): accuracy") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_study_that_cannot_run_is_one_line_and_a_nonzero_exit) {
    TempDir dir("tune-err");
    write_iris_experiment(dir.path, "base.ini", "", "callback = fixture_curve x=${x}\n");
    const std::string head = "[study]\nexperiment = base.ini\ndirection = minimize\n";
    const std::string space = "[space]\nx = choice 0.1 0.3\n";
    write_text(dir / "missing.ini", head + "objective = val_nothing\nsampler = grid\n" + space);
    auto r = run_plexus("tune '" + (dir / "missing.ini").string() + "' " + kStudyPlugins);
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.err.find("objective 'val_nothing' is never logged") != std::string::npos);
    BOOST_TEST(r.err.find("val_score") != std::string::npos);  // the logged names
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1);

    write_text(dir / "sampler.ini", head + "objective = val_score\nsampler = gird\n" + space);
    r = run_plexus("tune '" + (dir / "sampler.ini").string() + "' " + kStudyPlugins);
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.err.find("gird") != std::string::npos);
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1);

    write_text(dir / "file.ini", head + "objective = val_score\nsampler = grid\n" + space);
    write_text(dir / "file", "in the way");
    r = run_plexus("tune '" + (dir / "file.ini").string() + "' " + kStudyPlugins);
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.err.find("the study folder is a file") != std::string::npos);

    // libpq is opened on the first postgresql:// URL: one that cannot be loaded (here a text
    // file found first through LD_LIBRARY_PATH) is one line saying what to install.
    fs::create_directories(dir / "lib");
    write_text(dir / "lib" / "libpq.so.5", "not a library");
    write_text(dir / "pg.ini", head + "objective = val_score\nsampler = grid\n" + space);
    r = run_plexus("tune '" + (dir / "pg.ini").string() + "' --storage postgresql://127.0.0.1:1/x " +
                       kStudyPlugins,
                   "LD_LIBRARY_PATH='" + (dir / "lib").string() + "'");
    BOOST_TEST(r.exit_code == 1, r.err);
    BOOST_TEST(r.err.find("PostgreSQL storage needs libpq (") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("apt install libpq5") != std::string::npos, r.err);
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
}
