// successive_halving on hand-built histories (rung positions, the 1/reduction_factor cut,
// ties, too few values, rung values of trials that skipped the rung's epoch, NaN, auto
// min_resource) and on a simulated study of synthetic learning curves.
#define BOOST_TEST_MODULE successive_halving
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"
#include "plexus/testing/pruners.hpp"

namespace {

using plexus::TrialState;
using plexus::TrialView;
using plexus::testing::make_trial;

// Five trials with one value at each of epochs 1..9: {1..}, {2..}, ..., {5..}.
std::vector<TrialView> five_flat() {
    std::vector<TrialView> history;
    for (int k = 1; k <= 5; ++k)
        history.push_back(make_trial(k - 1, TrialState::complete, std::vector<double>(9, k)));
    return history;
}

// Adds trial 99 (running, `earlier` values at epochs 1..) and asks about `value` at the next
// epoch.
bool prunes(const std::string& spec, std::vector<TrialView> history, std::vector<double> earlier,
            double value, std::uint64_t max_steps = 100) {
    return plexus::testing::prunes_report(*plexus::testing::load<plexus::Pruner>(spec),
                                          std::move(history), 99, std::move(earlier), value,
                                          max_steps);
}

std::vector<double> epochs(std::size_t n, double value) {
    return std::vector<double>(n, value);
}

}  // namespace

BOOST_AUTO_TEST_CASE(keeps_the_top_third_at_a_rung_ties_included) {
    // Rung 0 at epoch 1: {1,2,3,4,5} plus the trial's value: 6 values, keep the best 2.
    BOOST_TEST(!prunes("successive_halving", five_flat(), {}, 2.0));  // ties the 2nd: kept
    BOOST_TEST(prunes("successive_halving", five_flat(), {}, 2.5));
    BOOST_TEST(!prunes("successive_halving", five_flat(), {}, 0.5));
    // reduction_factor=2: keep the best 3 of 6.
    BOOST_TEST(!prunes("successive_halving reduction_factor=2", five_flat(), {}, 3.0));
    BOOST_TEST(prunes("successive_halving reduction_factor=2", five_flat(), {}, 3.5));
}

BOOST_AUTO_TEST_CASE(decides_only_at_rungs_one_three_nine) {
    // min_resource=1, reduction_factor=3: rungs at epochs 1, 3, 9, 27.
    for (std::size_t epoch = 1; epoch <= 9; ++epoch) {
        const bool rung = epoch == 1 || epoch == 3 || epoch == 9;
        // A trial best until now and worst at this epoch: judged on this epoch's value.
        BOOST_TEST(prunes("successive_halving", five_flat(), epochs(epoch - 1, 0.0), 9.0) == rung,
                   "epoch " << epoch);
    }
    // min_resource=2: rungs at 2, 6, 18; min_early_stopping_rate=1 moves them to 6, 18, 54.
    BOOST_TEST(!prunes("successive_halving min_resource=2", five_flat(), {}, 9.0));
    BOOST_TEST(prunes("successive_halving min_resource=2", five_flat(), {0.0}, 9.0));
    BOOST_TEST(prunes("successive_halving min_resource=2", five_flat(), epochs(5, 0.0), 9.0));
    BOOST_TEST(!prunes("successive_halving min_resource=2 min_early_stopping_rate=1", five_flat(),
                       {0.0}, 9.0));
    BOOST_TEST(prunes("successive_halving min_resource=2 min_early_stopping_rate=1", five_flat(),
                      epochs(5, 0.0), 9.0));
}

BOOST_AUTO_TEST_CASE(every_trial_continues_while_a_rung_holds_fewer_than_rf_values) {
    const std::vector<TrialView> one{make_trial(0, TrialState::complete, {1.0, 1.0})};
    BOOST_TEST(!prunes("successive_halving", one, {}, 5.0));  // 2 values < 3
    auto two = one;
    two.push_back(make_trial(1, TrialState::pruned, {2.0}));
    BOOST_TEST(prunes("successive_halving", two, {}, 5.0));  // 3 values: keep the best 1
    BOOST_TEST(!prunes("successive_halving", {}, {}, 5.0));
}

BOOST_AUTO_TEST_CASE(a_rung_value_is_the_first_report_at_or_after_the_rungs_epoch) {
    // Rung 1 at epoch 3. Trial 0 skipped epoch 3: its rung value is its epoch-4 value 0.2.
    std::vector<TrialView> history{make_trial(0, TrialState::running, {1.0, 0.9}),
                                   make_trial(1, TrialState::complete, {9, 9, 0.3}),
                                   make_trial(2, TrialState::complete, {9, 9, 0.4})};
    history[0].intermediate.emplace_back(4, 0.2);
    // {0.25, 0.2, 0.3, 0.4}: keep the best 1. Without trial 0's value, 0.25 would be the best.
    BOOST_TEST(prunes("successive_halving", history, {0.0, 0.0}, 0.25));
    BOOST_TEST(!prunes("successive_halving", history, {0.0, 0.0}, 0.2));

    // The trial itself skipping epoch 3: its epoch-4 report is judged at rung 1.
    auto pruner = plexus::testing::load<plexus::Pruner>("successive_halving");
    history.push_back(make_trial(99, TrialState::running, {0.0, 0.0}));
    history.back().intermediate.emplace_back(4, 0.25);
    BOOST_TEST(pruner->should_prune({99, 4, 0.25, 100}, history));
    // A report after one at epoch 3 was decided then: epoch 4 is no rung.
    history.back().intermediate = {{1, 0.0}, {2, 0.0}, {3, 0.0}, {4, 0.25}};
    BOOST_TEST(!pruner->should_prune({99, 4, 0.25, 100}, history));
}

BOOST_AUTO_TEST_CASE(nan_is_pruned_at_a_rung_and_never_counted) {
    const double nan = std::nan("");
    BOOST_TEST(prunes("successive_halving", {}, {}, nan));
    BOOST_TEST(!prunes("successive_halving", {}, {0.0}, nan));  // epoch 2: no rung
    // Trials 0 and 1 have NaN at epoch 1: only trial 2's 1.0 and the value count.
    const std::vector<TrialView> history{make_trial(0, TrialState::failed, {nan}),
                                         make_trial(1, TrialState::failed, {nan}),
                                         make_trial(2, TrialState::complete, {1.0})};
    BOOST_TEST(!prunes("successive_halving", history, {}, 5.0));
}

BOOST_AUTO_TEST_CASE(auto_min_resource_is_one_per_hundred_epochs_and_the_last_is_kept) {
    // 300 epochs: rungs at 3, 9, 27.
    BOOST_TEST(!prunes("successive_halving", five_flat(), {}, 9.0, 300));
    BOOST_TEST(prunes("successive_halving", five_flat(), {0.0, 0.0}, 9.0, 300));
    // 9 epochs: rung 2 falls on the last epoch, which is never pruned.
    BOOST_TEST(prunes("successive_halving", five_flat(), epochs(8, 0.0), 9.0, 10));
    BOOST_TEST(!prunes("successive_halving", five_flat(), epochs(8, 0.0), 9.0, 9));
}

BOOST_AUTO_TEST_CASE(bad_parameters_are_refused) {
    for (const char* spec :
         {"successive_halving min_resource=0", "successive_halving min_resource=x",
          "successive_halving min_resource=-3", "successive_halving min_resource=1e3",
          "successive_halving reduction_factor=1"})
        BOOST_CHECK_THROW(plexus::testing::load<plexus::Pruner>(spec), plexus::Error);
    try {
        plexus::testing::load<plexus::Pruner>("successive_halving min_resource=0");
        BOOST_FAIL("min_resource=0 was accepted");
    } catch (const plexus::Error& e) {
        const std::string expected =
            "successive_halving: min_resource must be 'auto' or a whole number from 1 to "
            "1000000000, got '0'";
        BOOST_TEST(std::string(e.what()).find(expected) != std::string::npos, e.what());
    }
}

// Expected: plugins/pruners/optuna_reference.py successive_halving (Optuna 3.1's
// SuccessiveHalvingPruner(min_resource=1, reduction_factor=3), too-few rule patched in).
BOOST_AUTO_TEST_CASE(a_simulated_study_prunes_as_optuna_and_keeps_the_best_trial) {
    auto pruner = plexus::testing::load<plexus::Pruner>("successive_halving min_resource=1");
    const auto sim = plexus::testing::simulate_reference_study(*pruner);
    BOOST_TEST_MESSAGE(plexus::testing::summary("successive_halving", sim));
    BOOST_TEST(sim.epochs == 204u);  // of 810 unpruned
    const std::vector<std::uint64_t> pruned{2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,
                                            16, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 29};
    BOOST_TEST(plexus::testing::pruned_trials(sim) == pruned, boost::test_tools::per_element());
    BOOST_TEST((sim.trials[plexus::testing::kReferenceBest].state == TrialState::complete));
}
