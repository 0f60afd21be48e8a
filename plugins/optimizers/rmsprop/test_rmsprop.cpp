#define BOOST_TEST_MODULE rmsprop
#include <boost/test/unit_test.hpp>

#include "plexus/testing/optimizers.hpp"

using namespace plexus::testing;

// lr .1, ρ .5, ε .5; w = 1, g = 2, −2, 4. v ← .5·v + .5·g² = 2, 3, 9.5 in every case.
const std::string kSpec = "rmsprop lr=0.1 rho=0.5 epsilon=0.5";
const std::vector<Values> kGrads = {{2}, {-2}, {4}};

BOOST_AUTO_TEST_CASE(three_steps) {
    // q = g/(√v + ε), w ← w − .1·q
    //  t1: q = 2/(1.4142136 + .5) = 1.0448155,  w = .8955184
    //  t2: q = −2/(1.7320508 + .5) = −.8960370, w = .9851221
    //  t3: q = 4/(3.0822070 + .5) = 1.1166301,  w = .8734591
    BOOST_TEST(check_steps(kSpec, {1}, kGrads, {{0.8955184f}, {0.9851221f}, {0.8734591f}}) == "");
}

BOOST_AUTO_TEST_CASE(centered) {
    // m ← .5·m + .5·g = 1, −.5, 1.75; v̄ = v − m² = 1, 2.75, 6.4375
    //  t1: q = 2/(1 + .5) = 1.3333333,           w = .8666667
    //  t2: q = −2/(1.6583124 + .5) = −.9266499,  w = .9593317
    //  t3: q = 4/(2.5372229 + .5) = 1.3169926,   w = .8276324
    BOOST_TEST(check_steps(kSpec + " centered=true", {1}, kGrads,
                           {{0.8666667f}, {0.9593317f}, {0.8276324f}}) == "");
}

BOOST_AUTO_TEST_CASE(momentum) {
    // b ← .5·b + q with the q of the first case: 1.0448155, −.3736292, .9298155
    //  w = 1 − .1044816 = .8955184, + .0373629 = .9328814, − .0929815 = .8398998
    BOOST_TEST(check_steps(kSpec + " momentum=0.5", {1}, kGrads,
                           {{0.8955184f}, {0.9328814f}, {0.8398998f}}) == "");
}

BOOST_AUTO_TEST_CASE(clipping) {
    // clipvalue 1: g = 1, −1, 1 → v = .5, .75, .875
    //  q = 1/(.7071068 + .5) = .8284271, −1/(.8660254 + .5) = −.7320508,
    //      1/(.9354143 + .5) = .6966639
    //  w = .9171573, .9903624, .9206960
    BOOST_TEST(check_steps(kSpec + " clipvalue=1", {1}, kGrads,
                           {{0.9171573f}, {0.9903624f}, {0.9206960f}}) == "");
    // clipnorm 1 on one-element tensors is the same clamp to ±1.
    BOOST_TEST(check_steps(kSpec + " clipnorm=1", {1}, kGrads,
                           {{0.9171573f}, {0.9903624f}, {0.9206960f}}) == "");
}

BOOST_AUTO_TEST_CASE(state_tensor_names) {
    const std::vector<std::string> plain = {"step", "a.steps", "a.v", "b.steps", "b.v"};
    BOOST_TEST(state_names("rmsprop") == plain, boost::test_tools::per_element());
    const std::vector<std::string> all = {"step",    "a.steps", "a.v", "a.m",       "a.momentum",
                                          "b.steps", "b.v",     "b.m", "b.momentum"};
    BOOST_TEST(state_names("rmsprop centered=true momentum=0.9") == all,
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(defaults_and_ranges) {
    BOOST_TEST(load<plexus::Optimizer>("rmsprop")->learning_rate() == 0.001f);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("rmsprop rho=1"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("rmsprop momentum=-0.1"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("rmsprop epsilon=0"), plexus::ParamError);
}
