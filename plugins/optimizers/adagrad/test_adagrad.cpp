#define BOOST_TEST_MODULE adagrad
#include <boost/test/unit_test.hpp>

#include "plexus/testing/optimizers.hpp"

using namespace plexus::testing;

BOOST_AUTO_TEST_CASE(three_steps) {
    // lr .1, ε .5, a₀ = 0: g = 3, 4, 12 make a = 9, 25, 169 and √a = 3, 5, 13.
    //  w = 1 − .1·3/3.5 = .9142857, − .1·4/5.5 = .8415584, − .1·12/13.5 = .7526696
    BOOST_TEST(check_steps("adagrad lr=0.1 epsilon=0.5 initial_accumulator=0", {1},
                           {{3}, {4}, {12}}, {{0.9142857f}, {0.8415584f}, {0.7526696f}}) == "");
}

BOOST_AUTO_TEST_CASE(initial_accumulator) {
    // a₀ = 7: g = 3, 3, 12 make a = 16, 25, 169 and √a = 4, 5, 13.
    //  w = 1 − .1·3/4.5 = .9333333, − .1·3/5.5 = .8787879, − .1·12/13.5 = .7898990
    BOOST_TEST(check_steps("adagrad lr=0.1 epsilon=0.5 initial_accumulator=7", {1},
                           {{3}, {3}, {12}}, {{0.9333333f}, {0.8787879f}, {0.7898990f}}) == "");
}

BOOST_AUTO_TEST_CASE(clipping) {
    // clipvalue 2 (a₀ = 0): g = 3, 4, 12 → 2, 2, 2; a = 4, 8, 12
    //  w = 1 − .2/2.5 = .92, − .2/(2.8284271 + .5) = .8599116, − .2/(3.4641016 + .5) = .8094588
    BOOST_TEST(check_steps("adagrad lr=0.1 epsilon=0.5 initial_accumulator=0 clipvalue=2", {1},
                           {{3}, {4}, {12}}, {{0.92f}, {0.8599116f}, {0.8094588f}}) == "");
    BOOST_TEST(check_steps("adagrad lr=0.1 epsilon=0.5 initial_accumulator=0 clipnorm=2", {1},
                           {{3}, {4}, {12}}, {{0.92f}, {0.8599116f}, {0.8094588f}}) == "");
}

BOOST_AUTO_TEST_CASE(state) {
    const std::vector<std::string> names = {"step", "a.steps", "a.accumulator", "b.steps",
                                            "b.accumulator"};
    BOOST_TEST(state_names("adagrad") == names, boost::test_tools::per_element());
    OptimizerRig rig("adagrad");
    plexus::Parameter& w = rig.add("w", {1, 1});
    rig.build();
    // The default initial value.
    BOOST_TEST(mismatch(rig.state("w.accumulator"), {0.1f, 0.1f}) == "");
    rig.set_grad(w, {1, -2});
    rig.step();
    BOOST_TEST(mismatch(rig.state("w.accumulator"), {1.1f, 4.1f}) == "");
    BOOST_TEST(mismatch(rig.state("step"), {1}) == "");
}

BOOST_AUTO_TEST_CASE(defaults_and_ranges) {
    BOOST_TEST(load<plexus::Optimizer>("adagrad")->learning_rate() == 0.01f);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("adagrad initial_accumulator=-1"),
                      plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("adagrad epsilon=-1"), plexus::ParamError);
}
