// Pruning on a curve with a known best (tests/fixtures/study_plugin.cpp: val_score =
// (x - 0.3)^2 + 0.5 / epoch): the median pruner stops bad trials early, saves epochs, keeps
// the best, and the leaderboard's count of saved epochs matches the trials' epochs.
#define BOOST_TEST_MODULE tune_prune
#include <boost/test/unit_test.hpp>

#include "tune_study.hpp"

namespace fs = std::filesystem;
using namespace plexus;
using namespace plexus::test;

namespace {

constexpr std::uint64_t kEpochs = 6, kTrials = 7;

struct Outcome {
    std::vector<core::TrialRecord> trials;
    std::string out;
};

Outcome run_study(const TempDir& dir, const std::string& name, const std::string& pruner) {
    write_text(dir / (name + ".ini"),
               "[study]\nexperiment = base.ini\nobjective = val_score\ndirection = minimize\n"
               "sampler = grid\npruner = " +
                   pruner + "\n[space]\nx = choice 0.0 0.1 0.2 0.3 0.4 0.5 0.6\n");
    const auto r = run_plexus("tune '" + (dir / (name + ".ini")).string() + "' " + kStudyPlugins);
    BOOST_TEST_INFO(r.out + r.err);
    BOOST_TEST(r.exit_code == 0);
    return {stored_trials(dir / (name + ".ini")), r.out};
}

std::uint64_t total_epochs(const std::vector<core::TrialRecord>& trials) {
    std::uint64_t n = 0;
    for (const auto& t : trials) n += t.epochs;
    return n;
}

double best_x(const std::vector<core::TrialRecord>& trials) {
    const core::TrialRecord* best = nullptr;
    for (const auto& t : trials)
        if (t.state == TrialState::complete && (!best || *t.value < *best->value)) best = &t;
    BOOST_REQUIRE(best);
    return std::stod(std::vector<std::string>{"0.0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6"}.at(
        static_cast<std::size_t>(best->params[0])));
}

}  // namespace

BOOST_AUTO_TEST_CASE(median_pruning_saves_epochs_and_keeps_the_best) {
    TempDir dir("tune-prune");
    write_iris_experiment(dir.path, "base.ini", "", "callback = fixture_curve x=${x}\n", "",
                          static_cast<int>(kEpochs));
    const Outcome full = run_study(dir, "full", "none");
    const Outcome pruned = run_study(dir, "pruned", "median n_startup_trials=2");
    BOOST_REQUIRE(full.trials.size() == kTrials);
    BOOST_REQUIRE(pruned.trials.size() == kTrials);
    BOOST_TEST(total_epochs(full.trials) == kTrials * kEpochs);
    BOOST_TEST(total_epochs(pruned.trials) < kTrials * kEpochs);
    BOOST_TEST(best_x(full.trials) == 0.3);
    BOOST_TEST(best_x(pruned.trials) == 0.3);
    std::size_t n_pruned = 0;
    for (const auto& t : pruned.trials) {
        if (t.state != TrialState::pruned) continue;
        ++n_pruned;
        BOOST_TEST(t.reason == "pruned at epoch " + std::to_string(t.epochs));
        BOOST_TEST(t.intermediate.size() == t.epochs);
    }
    BOOST_TEST(n_pruned > 0u);
    const std::uint64_t saved = kTrials * kEpochs - total_epochs(pruned.trials);
    BOOST_TEST(pruned.out.find("pruning saved " + std::to_string(saved) + " of " +
                               std::to_string(kTrials * kEpochs) + " epochs") != std::string::npos);
    BOOST_TEST(full.out.find("pruning saved") == std::string::npos);
}
