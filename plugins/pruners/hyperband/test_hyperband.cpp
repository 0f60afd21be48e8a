// hyperband on hand-built histories (bracket sizes, each bracket's rungs, trials compared
// only within their bracket, max_resource) and on a simulated study of synthetic learning
// curves. With 27 epochs, min_resource=1 and reduction_factor=3 there are 4 brackets of
// Li et al.'s sizes 27, 12, 6, 4 (of 49), their first rungs at epochs 1, 3, 9 and 27. Which
// bracket a trial number falls in comes from an independent implementation,
// plugins/pruners/optuna_reference.py's splitmix64 (same arithmetic in Python):
//   bracket 0: trials 0 1 2 6 7 11 14 15 16 18 19 21 22 27 29
//   bracket 1: trials 3 4 9 10 12 17 24 25 26;  bracket 2: 8 13 23;  bracket 3: 5 20 28
#define BOOST_TEST_MODULE hyperband
#include <boost/test/unit_test.hpp>
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

std::vector<double> flat(std::size_t epochs, double value) {
    return std::vector<double>(epochs, value);
}

// Asks about trial `number`'s report of `value` after `earlier` values (epochs 1..), with
// `others` as the rest of the study.
bool prunes(std::vector<TrialView> others, std::uint64_t number, std::vector<double> earlier,
            double value, std::uint64_t max_steps = 27, const std::string& spec = "hyperband") {
    return plexus::testing::prunes_report(*plexus::testing::load<plexus::Pruner>(spec),
                                          std::move(others), number, std::move(earlier), value,
                                          max_steps);
}

}  // namespace

BOOST_AUTO_TEST_CASE(trials_are_compared_only_within_their_bracket) {
    // Trial 2 (bracket 0, rung at epoch 1) against trials 0 and 1 (bracket 0).
    const std::vector<TrialView> same{make_trial(0, TrialState::complete, flat(27, 1.0)),
                                      make_trial(1, TrialState::complete, flat(27, 2.0))};
    BOOST_TEST(prunes(same, 2, {}, 5.0));   // 3 values, keep the best one
    BOOST_TEST(!prunes(same, 2, {}, 1.0));  // ties it

    // Trials 3 and 4 are in bracket 1: with only trial 0 of its own, trial 2 continues.
    const std::vector<TrialView> mixed{make_trial(0, TrialState::complete, flat(27, 1.0)),
                                       make_trial(3, TrialState::complete, flat(27, 0.1)),
                                       make_trial(4, TrialState::complete, flat(27, 0.2))};
    BOOST_TEST(!prunes(mixed, 2, {}, 5.0));
    // Trial 9 (bracket 1) is judged against 3 and 4 and not trial 0, at its rung at epoch 3.
    BOOST_TEST(!prunes(mixed, 9, {}, 5.0));
    BOOST_TEST(prunes(mixed, 9, {0.0, 0.0}, 0.15));
    BOOST_TEST(!prunes(mixed, 9, {0.0, 0.0}, 0.1));
}

BOOST_AUTO_TEST_CASE(each_bracket_starts_its_rungs_later) {
    // Bracket 2 (trial 23, against 8 and 13): rungs at epochs 9 and 27 only.
    const std::vector<TrialView> b2{make_trial(8, TrialState::complete, flat(27, 1.0)),
                                    make_trial(13, TrialState::complete, flat(27, 1.0))};
    for (std::size_t epoch = 1; epoch <= 10; ++epoch)
        BOOST_TEST(prunes(b2, 23, flat(epoch - 1, 0.0), 9.0) == (epoch == 9), "epoch " << epoch);

    // Bracket 3 (trial 28, against 5 and 20): its one rung is epoch 27, the last one, so it
    // is never pruned with 27 epochs; with 40 (max_resource=27) epoch 27 is pruned.
    const std::vector<TrialView> b3{make_trial(5, TrialState::complete, flat(40, 1.0)),
                                    make_trial(20, TrialState::complete, flat(40, 1.0))};
    for (std::size_t epoch : {1, 3, 9, 26, 27})
        BOOST_TEST(!prunes(b3, 28, flat(epoch - 1, 0.0), 9.0), "epoch " << epoch);
    BOOST_TEST(prunes(b3, 28, flat(26, 0.0), 9.0, 40, "hyperband max_resource=27"));
}

BOOST_AUTO_TEST_CASE(max_resource_sets_the_brackets) {
    // max_resource=9: 3 brackets of sizes 9, 5, 3 (of 17); trial 3 falls in bracket 0
    // (rung at epoch 1) with trials 7 and 11, trial 0 in bracket 1 (optuna_reference.py's
    // splitmix64).
    const std::vector<TrialView> others{make_trial(0, TrialState::complete, flat(9, 1.0)),
                                        make_trial(7, TrialState::complete, flat(9, 1.0)),
                                        make_trial(11, TrialState::complete, flat(9, 1.0))};
    BOOST_TEST(prunes(others, 3, {}, 9.0, 100, "hyperband max_resource=9"));
    // With 27 epochs trial 3 is in bracket 1, whose first rung is at epoch 3.
    BOOST_TEST(!prunes(others, 3, {}, 9.0, 27));
    // Unknown epochs and max_resource=auto: no brackets, nothing pruned.
    BOOST_TEST(!prunes(others, 3, {}, 9.0, 0));
}

BOOST_AUTO_TEST_CASE(bad_parameters_are_refused) {
    for (const char* spec : {"hyperband min_resource=0", "hyperband max_resource=0",
                             "hyperband max_resource=ten", "hyperband reduction_factor=1"})
        BOOST_CHECK_THROW(plexus::testing::load<plexus::Pruner>(spec), plexus::Error);
}

// Expected: plugins/pruners/optuna_reference.py hyperband (Optuna 3.1's
// HyperbandPruner(min_resource=1, max_resource=27, reduction_factor=3), Plexus's bracket
// assignment and too-few rule patched in).
BOOST_AUTO_TEST_CASE(a_simulated_study_prunes_as_optuna_and_keeps_the_best_trial) {
    auto pruner = plexus::testing::load<plexus::Pruner>("hyperband");
    const auto sim = plexus::testing::simulate_reference_study(*pruner);
    BOOST_TEST_MESSAGE(plexus::testing::summary("hyperband", sim));
    BOOST_TEST(sim.epochs == 420u);  // of 810 unpruned
    const std::vector<std::uint64_t> pruned{2,  6,  7,  9,  10, 11, 12, 14, 16,
                                            17, 19, 21, 22, 24, 26, 27, 29};
    BOOST_TEST(plexus::testing::pruned_trials(sim) == pruned, boost::test_tools::per_element());
    BOOST_TEST((sim.trials[plexus::testing::kReferenceBest].state == TrialState::complete));
}
