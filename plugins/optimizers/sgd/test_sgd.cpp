#define BOOST_TEST_MODULE sgd
#include <boost/test/unit_test.hpp>

#include "plexus/testing/optimizers.hpp"

using namespace plexus::testing;

// One gradient sequence for every case: element 0 starts at 1 and sees 1, 2, −1; element 1
// starts at 2 and sees −2, 0, 4.
const Values kW0 = {1, 2};
const std::vector<Values> kGrads = {{1, -2}, {2, 0}, {-1, 4}};

BOOST_AUTO_TEST_CASE(plain_sgd) {
    // lr .5: w ← w − .5·g.  1 − .5 = .5, − 1 = −.5, + .5 = 0;  2 + 1 = 3, 3, − 2 = 1
    BOOST_TEST(check_steps("sgd lr=0.5", kW0, kGrads, {{0.5f, 3}, {-0.5f, 3}, {0, 1}}) == "");
}

BOOST_AUTO_TEST_CASE(the_rate_passed_to_step_wins) {
    // Schedules change the rate the trainer passes; the configured one is only the start.
    OptimizerRig rig("sgd lr=0.5");
    plexus::Parameter& w = rig.add("w", {1, 2, -3});
    rig.build();
    rig.set_grad(w, {0.2f, -0.4f, 1});
    rig.optimizer->step(rig.params, 0.25f);
    BOOST_TEST(mismatch(rig.value(w), {0.95f, 2.1f, -3.25f}) == "");
    BOOST_TEST(rig.optimizer->learning_rate() == 0.5f);
}

BOOST_AUTO_TEST_CASE(momentum) {
    // lr .1, μ .5: b ← .5·b + g, w ← w − .1·b
    //  e0: b = 1, w = .9;     b = .5 + 2 = 2.5, w = .65;   b = 1.25 − 1 = .25, w = .625
    //  e1: b = −2, w = 2.2;   b = −1 + 0 = −1, w = 2.3;    b = −.5 + 4 = 3.5, w = 1.95
    BOOST_TEST(check_steps("sgd lr=0.1 momentum=0.5", kW0, kGrads,
                           {{0.9f, 2.2f}, {0.65f, 2.3f}, {0.625f, 1.95f}}) == "");
}

BOOST_AUTO_TEST_CASE(nesterov) {
    // As above but w ← w − .1·(g + .5·b)
    //  e0: d = 1 + .5 = 1.5, w = .85;   d = 2 + 1.25 = 3.25, w = .525;  d = −1 + .125, w = .6125
    //  e1: d = −2 − 1 = −3, w = 2.3;    d = 0 − .5, w = 2.35;           d = 4 + 1.75, w = 1.775
    BOOST_TEST(check_steps("sgd lr=0.1 momentum=0.5 nesterov=true", kW0, kGrads,
                           {{0.85f, 2.3f}, {0.525f, 2.35f}, {0.6125f, 1.775f}}) == "");
}

BOOST_AUTO_TEST_CASE(weight_decay) {
    // lr .1, wd .5, no momentum: g' = g + .5·w, w ← w − .1·g'
    //  e0: g' = 1.5, w = .85;   g' = 2 + .425, w = .6075;    g' = −1 + .30375, w = .677125
    //  e1: g' = −1, w = 2.1;    g' = 1.05, w = 1.995;        g' = 4.9975, w = 1.49525
    BOOST_TEST(check_steps("sgd lr=0.1 weight_decay=0.5", kW0, kGrads,
                           {{0.85f, 2.1f}, {0.6075f, 1.995f}, {0.677125f, 1.49525f}}) == "");
}

BOOST_AUTO_TEST_CASE(weight_decay_momentum_and_nesterov) {
    // lr .1, μ .5, wd .5: g' = g + .5·w, b ← .5·b + g', w ← w − .1·(g' + .5·b)
    //  e0: g' = 1.5, b = 1.5, d = 2.25, w = .775
    //      g' = 2 + .3875 = 2.3875, b = .75 + 2.3875 = 3.1375, d = 3.95625, w = .379375
    //      g' = −1 + .1896875 = −.8103125, b = 1.56875 − .8103125 = .7584375,
    //      d = −.43109375, w = .42248438
    //  e1: g' = −1, b = −1, d = −1.5, w = 2.15
    //      g' = 1.075, b = .575, d = 1.3625, w = 2.01375
    //      g' = 5.006875, b = 5.294375, d = 7.6540625, w = 1.2483438
    const std::vector<Values> want = {
        {0.775f, 2.15f}, {0.379375f, 2.01375f}, {0.4224844f, 1.2483438f}};
    BOOST_TEST(check_steps("sgd lr=0.1 momentum=0.5 nesterov=true weight_decay=0.5", kW0, kGrads,
                           want) == "");
}

BOOST_AUTO_TEST_CASE(clipvalue) {
    // clipvalue .5 turns the gradients into (.5, −.5), (.5, 0), (−.5, .5).
    //  lr .1: e0 1 → .95 → .9 → .95;  e1 2 → 2.05 → 2.05 → 2
    BOOST_TEST(check_steps("sgd lr=0.1 clipvalue=0.5", kW0, kGrads,
                           {{0.95f, 2.05f}, {0.9f, 2.05f}, {0.95f, 2}}) == "");
    //  with μ .5 (the fused kernel clips too): b = (.5, −.5), (.75, −.25), (−.125, .375)
    //  e0: .95, .875, .8875;  e1: 2.05, 2.075, 2.0375
    BOOST_TEST(check_steps("sgd lr=0.1 momentum=0.5 clipvalue=0.5", kW0, kGrads,
                           {{0.95f, 2.05f}, {0.875f, 2.075f}, {0.8875f, 2.0375f}}) == "");
}

BOOST_AUTO_TEST_CASE(clipnorm_is_per_tensor) {
    // clipnorm 1: (1, −2) has norm √5 → (.4472136, −.8944272); (2, 0) → (1, 0);
    // (−1, 4) has norm √17 → (−.2425356, .9701425).  lr .1:
    //  e0: 1 − .0447214 = .9552786, − .1 = .8552786, + .0242536 = .8795322
    //  e1: 2 + .0894427 = 2.0894427, 2.0894427, − .0970143 = 1.9924285
    const std::vector<Values> clipped = {
        {0.9552786f, 2.0894427f}, {0.8552786f, 2.0894427f}, {0.8795322f, 1.9924285f}};
    BOOST_TEST(check_steps("sgd lr=0.1 clipnorm=1", kW0, kGrads, clipped) == "");
    // Per tensor, not global: (3, 4) is scaled to norm 1, (.6) beside it is left alone (a
    // global norm of √25.36 would scale both).
    OptimizerRig rig("sgd lr=1 clipnorm=1");
    plexus::Parameter& a = rig.add("a", {0, 0});
    plexus::Parameter& b = rig.add("b", {0});
    rig.build();
    rig.set_grad(a, {3, 4});
    rig.set_grad(b, {0.6f});
    rig.step();
    BOOST_TEST(mismatch(rig.value(a), {-0.6f, -0.8f}) == "");
    BOOST_TEST(mismatch(rig.value(b), {-0.6f}) == "");
}

BOOST_AUTO_TEST_CASE(state_and_fused_kernel) {
    const std::vector<std::string> none = {"step", "a.steps", "b.steps"};
    BOOST_TEST(state_names("sgd") == none, boost::test_tools::per_element());
    const std::vector<std::string> velocity = {"step", "a.steps", "a.momentum", "b.steps",
                                               "b.momentum"};
    BOOST_TEST(state_names("sgd momentum=0.9") == velocity, boost::test_tools::per_element());

    // The CPU device takes the key: w = 1, b = 1, g = 2, lr .1, μ .5 → b = 2.5, w = .75.
    auto device = load<plexus::Device>("cpu");
    plexus::Tensor g = make_tensor(*device, {1}, {2}), w = make_tensor(*device, {1}, {1}),
                   b = make_tensor(*device, {1}, {1});
    BOOST_TEST(device->try_fused(plexus::fused::SgdMomentumUpdate{
        .grad = g, .value = w, .velocity = b, .lr = 0.1f, .momentum = 0.5f,
        .weight_decay = 0.0f, .nesterov = false, .grad_scale = 1.0f, .clipvalue = 0.0f}));
    BOOST_TEST(mismatch(to_host(*device, b), {2.5f}) == "");
    BOOST_TEST(mismatch(to_host(*device, w), {0.75f}) == "");

    BOOST_TEST(check_fused_matches_primitive("sgd lr=0.1 momentum=0.9") == "");
    BOOST_TEST(
        check_fused_matches_primitive("sgd lr=0.1 momentum=0.9 nesterov=true weight_decay=0.01 "
                                      "clipnorm=20 clipvalue=1") == "");
}

BOOST_AUTO_TEST_CASE(defaults_and_ranges) {
    BOOST_TEST(load<plexus::Optimizer>("sgd")->learning_rate() == 0.01f);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("sgd lr=0"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("sgd lr=-1"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("sgd momentum=1"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("sgd weight_decay=-1"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("sgd clipvalue=-1"), plexus::ParamError);
    // Rejected by the constructor (a factory failure: PluginError naming the fix).
    BOOST_CHECK_THROW(load<plexus::Optimizer>("sgd nesterov=true"), plexus::Error);
}
