// median on hand-built histories (startup, warm-up, interval, n_min_trials, NaN, the last
// epoch) with hand-computed medians, and on a simulated study of synthetic learning curves.
#define BOOST_TEST_MODULE median
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

// Five completed trials whose values at epochs 1..3 are {1,2,3,4,5}, {2,..}, ...: the median
// at every epoch is 3 (step 1), 2.5 (step 2), 2 (step 3).
std::vector<TrialView> five_completed() {
    return {make_trial(0, TrialState::complete, {1.0, 0.5, 0.0}),
            make_trial(1, TrialState::complete, {2.0, 1.5, 1.0}),
            make_trial(2, TrialState::complete, {3.0, 2.5, 2.0}),
            make_trial(3, TrialState::complete, {4.0, 3.5, 3.0}),
            make_trial(4, TrialState::complete, {5.0, 4.5, 4.0})};
}

// Adds trial `number` (running, with `earlier` values at epochs 1..) and asks the pruner about
// its report of `value` at the next epoch.
bool prunes(const std::string& spec, std::vector<TrialView> history, std::uint64_t number,
            std::vector<double> earlier, double value, std::uint64_t max_steps = 10) {
    return plexus::testing::prunes_report(*plexus::testing::load<plexus::Pruner>(spec),
                                          std::move(history), number, std::move(earlier), value,
                                          max_steps);
}

}  // namespace

BOOST_AUTO_TEST_CASE(prunes_a_value_worse_than_the_median_at_the_same_epoch) {
    BOOST_TEST(prunes("median", five_completed(), 5, {}, 3.01));
    BOOST_TEST(!prunes("median", five_completed(), 5, {}, 3.0));  // equal is not worse
    BOOST_TEST(!prunes("median", five_completed(), 5, {}, 2.0));
    BOOST_TEST(prunes("median", five_completed(), 5, {0.1, 0.1}, 2.01) == false);  // best 0.1
    BOOST_TEST(prunes("median", five_completed(), 5, {2.9, 2.6}, 2.01));           // best 2.01 > 2
}

BOOST_AUTO_TEST_CASE(an_even_count_takes_the_midpoint_and_only_completed_trials_count) {
    auto history = five_completed();
    history.pop_back();  // {1,2,3,4} at step 1: median 2.5
    history.push_back(make_trial(7, TrialState::pruned, {0.0}));
    history.push_back(make_trial(8, TrialState::failed, {0.0}));
    history.push_back(make_trial(9, TrialState::running, {0.0}));
    BOOST_TEST(prunes("median n_startup_trials=4", history, 10, {}, 2.51));
    BOOST_TEST(!prunes("median n_startup_trials=4", history, 10, {}, 2.5));
}

BOOST_AUTO_TEST_CASE(nothing_is_pruned_before_n_startup_trials_complete) {
    auto history = five_completed();
    history.pop_back();
    BOOST_TEST(!prunes("median", history, 5, {}, 100.0));
    BOOST_TEST(prunes("median n_startup_trials=4", history, 5, {}, 100.0));
    BOOST_TEST(!prunes("median n_startup_trials=0", {}, 0, {}, 100.0));  // no one to compare
}

BOOST_AUTO_TEST_CASE(warm_up_epochs_are_never_pruned) {
    const std::string spec = "median n_warmup_steps=2";
    BOOST_TEST(!prunes(spec, five_completed(), 5, {}, 100.0));
    BOOST_TEST(!prunes(spec, five_completed(), 5, {100.0}, 100.0));
    BOOST_TEST(prunes(spec, five_completed(), 5, {100.0, 100.0}, 100.0));
}

BOOST_AUTO_TEST_CASE(interval_steps_checks_every_nth_epoch_or_the_first_report_after_it) {
    const std::string spec = "median interval_steps=2";  // checks at epochs 1, 3, 5, ...
    BOOST_TEST(prunes(spec, five_completed(), 5, {}, 100.0));
    BOOST_TEST(!prunes(spec, five_completed(), 5, {100.0}, 100.0));
    BOOST_TEST(prunes(spec, five_completed(), 5, {100.0, 100.0}, 100.0));

    // Epoch 3 was never reported: its check happens at epoch 4, where the median is 1.5.
    auto history = five_completed();
    for (auto& trial : history)
        trial.intermediate.emplace_back(4, trial.intermediate[2].second - 1);
    history.push_back(make_trial(5, TrialState::running, {100.0}));
    history.back().intermediate.emplace_back(4, 1.6);
    auto pruner = plexus::testing::load<plexus::Pruner>(spec);
    BOOST_TEST(pruner->should_prune({5, 4, 1.6, 10}, history));
    history.back().intermediate.back().second = 1.0;
    BOOST_TEST(!pruner->should_prune({5, 4, 1.0, 10}, history));
}

BOOST_AUTO_TEST_CASE(n_min_trials_completed_values_are_needed_at_the_epoch) {
    auto history = five_completed();
    for (std::size_t i = 2; i < history.size(); ++i) history[i].intermediate.resize(2);
    // Only trials 0 and 1 reached epoch 3 (values 0 and 1: median 0.5).
    BOOST_TEST(prunes("median n_min_trials=2", history, 5, {9.0, 9.0}, 0.6));
    BOOST_TEST(!prunes("median n_min_trials=3", history, 5, {9.0, 9.0}, 0.6));
}

BOOST_AUTO_TEST_CASE(nan_curves_are_pruned_and_nan_values_of_others_ignored) {
    const double nan = std::nan("");
    BOOST_TEST(prunes("median", five_completed(), 5, {nan}, nan));
    BOOST_TEST(!prunes("median", five_completed(), 5, {nan}, 2.0));  // best 2 < median 2.5

    auto history = five_completed();
    history[0].intermediate[0].second = nan;  // step 1: {2,3,4,5} -> median 3.5
    BOOST_TEST(!prunes("median", history, 5, {}, 3.4));
    BOOST_TEST(prunes("median", history, 5, {}, 3.6));
}

BOOST_AUTO_TEST_CASE(the_last_epoch_is_never_pruned) {
    BOOST_TEST(prunes("median", five_completed(), 5, {9.0, 9.0}, 9.0, 4));
    BOOST_TEST(!prunes("median", five_completed(), 5, {9.0, 9.0}, 9.0, 3));
}

BOOST_AUTO_TEST_CASE(bad_parameters_are_refused) {
    BOOST_CHECK_THROW(plexus::testing::load<plexus::Pruner>("median interval_steps=0"),
                      plexus::ParamError);
    BOOST_CHECK_THROW(plexus::testing::load<plexus::Pruner>("median n_min_trials=0"),
                      plexus::ParamError);
    BOOST_CHECK_THROW(plexus::testing::load<plexus::Pruner>("median n_warmup_steps=-1"),
                      plexus::ParamError);
}

// Expected: plugins/pruners/optuna_reference.py median (Optuna 3.1's MedianPruner).
BOOST_AUTO_TEST_CASE(a_simulated_study_prunes_as_optuna_and_keeps_the_best_trial) {
    auto pruner = plexus::testing::load<plexus::Pruner>("median");
    const auto sim = plexus::testing::simulate_reference_study(*pruner);
    BOOST_TEST_MESSAGE(plexus::testing::summary("median", sim));
    BOOST_TEST(sim.epochs == 382u);  // of 810 unpruned
    const std::vector<std::uint64_t> pruned{5,  6,  7,  8,  9,  10, 11, 12, 13, 16,
                                            17, 19, 20, 21, 22, 23, 24, 26, 27, 29};
    BOOST_TEST(plexus::testing::pruned_trials(sim) == pruned, boost::test_tools::per_element());
    BOOST_TEST((sim.trials[plexus::testing::kReferenceBest].state == TrialState::complete));
}
