#define BOOST_TEST_MODULE adam_and_adamw
#include <boost/test/unit_test.hpp>

#include "plexus/testing/optimizers.hpp"

using namespace plexus::testing;

// Shared setting: lr 0.1, β1 0.5, β2 0.75, ε 0.5, so bias corrections are
//   bc1 = 1 − 0.5^t  = 0.5, 0.75, 0.875     bc2 = 1 − 0.75^t = 0.25, 0.4375, 0.578125
// and w ← w − lr · (m/bc1) / (sqrt(v/bc2) + ε).
const std::string kSpec = "adam lr=0.1 beta1=0.5 beta2=0.75 epsilon=0.5";

BOOST_AUTO_TEST_CASE(three_steps_with_bias_correction) {
    // Element 0, w = 1, g = 2, −2, 2:
    //  t1: m = .5·2 = 1,       v = .25·4 = 1;           m̂ = 2,    v̂ = 4
    //      w = 1 − .1·2/2.5 = 0.92
    //  t2: m = .5 − 1 = −.5,   v = .75 + 1 = 1.75;      m̂ = −2/3, v̂ = 1.75/.4375 = 4
    //      w = .92 + .1·(2/3)/2.5 = 0.9466667
    //  t3: m = −.25 + 1 = .75, v = 1.3125 + 1 = 2.3125; m̂ = 6/7,  v̂ = 2.3125/.578125 = 4
    //      w = .9466667 − .1·(6/7)/2.5 = 0.9123810
    // Element 1, w = −1, g = 1 every step: m̂ = v̂ = 1 exactly thanks to the bias correction
    // (uncorrected m = .5, .75, .875), so each step is −.1·1/1.5 = −0.0666667.
    const std::vector<Values> want = {
        {0.92f, -1.0666667f}, {0.9466667f, -1.1333333f}, {0.9123810f, -1.2f}};
    BOOST_TEST(check_steps(kSpec, {1, -1}, {{2, 1}, {-2, 1}, {2, 1}}, want) == "");
}

BOOST_AUTO_TEST_CASE(amsgrad_divides_by_the_running_maximum) {
    // w = 1, g = 2, 0, 1.
    //  t1: m = 1, v = 1, v_max = 1: as above, w = 0.92
    //  t2: m = .5, v = .75, v_max = 1; m̂ = .5/.75 = 2/3,
    //      sqrt(v_max/bc2) = sqrt(1/.4375) = 1.5118579
    //      w = .92 − .1·(2/3)/(1.5118579 + .5) = 0.8868631   (plain Adam: sqrt(.75/.4375) →
    //      0.8831535)
    //  t3: m = .75, v = .8125, v_max = 1; m̂ = 6/7, sqrt(1/.578125) = 1.3151919
    //      w = 0.8868631 − .1·(6/7)/(1.3151919 + .5) = 0.8396426
    BOOST_TEST(check_steps(kSpec + " amsgrad=true", {1}, {{2}, {0}, {1}},
                           {{0.92f}, {0.8868631f}, {0.8396426f}}) == "");
    BOOST_TEST(check_steps(kSpec, {1}, {{2}, {0}, {1}},
                           {{0.92f}, {0.8831535f}, {0.8322995f}}) == "");
}

BOOST_AUTO_TEST_CASE(clipvalue_clamps_each_element) {
    // g = 2, −2, 2 clipped to 1, −1, 1: v̂ = 1 every step, m = .5, −.25, .375 → m̂ = 1, −1/3, 3/7
    //   w = 1 − .1/1.5 = 0.9333333, + .1·(1/3)/1.5 = 0.9555556, − .1·(3/7)/1.5 = 0.9269841
    BOOST_TEST(check_steps(kSpec + " clipvalue=1", {1}, {{2}, {-2}, {2}},
                           {{0.9333333f}, {0.9555556f}, {0.9269841f}}) == "");
}

BOOST_AUTO_TEST_CASE(clipnorm_rescales_the_whole_tensor) {
    // g = (6, 8) has norm 10 → (.6, .8); (.3, .4) has norm .5 < 1 and is kept;
    // (−6, −8) → (−.6, −.8).
    //  t1: m̂ = g, v̂ = g² → w = 1 − .1·.6/1.1 = 0.9454545, 1 − .1·.8/1.3 = 0.9384615
    //  t2: m = (.3, .4), m̂ = (.4, .5333); v = (.09, .16), v̂ = (.2057, .3657)
    //      w = 0.9454545 − .1·.4/(.4535574 + .5) = 0.9035064, 0.9384615 − .1·.5333/(.6047432 + .5)
    //      = 0.8901849
    //  t3: m = (−.15, −.2), m̂ = (−.1714, −.2286); v = (.1575, .28), v̂ = (.2724, .4843)
    //      w = 0.9035064 + .1·.1714/(.5219 + .5) = 0.9202810, 0.8901849 + .1·.2286/(.6959 + .5)
    //      = 0.9092972
    const std::vector<Values> want = {
        {0.9454545f, 0.9384615f}, {0.9035064f, 0.8901849f}, {0.9202810f, 0.9092972f}};
    const std::vector<Values> grads = {{6, 8}, {0.3f, 0.4f}, {-6, -8}};
    BOOST_TEST(check_steps(kSpec + " clipnorm=1", {1, 1}, grads, want) == "");
}

BOOST_AUTO_TEST_CASE(state_names_moments_and_step_count) {
    const std::vector<std::string> plain = {"step",    "a.steps", "a.m", "a.v",
                                            "b.steps", "b.m",     "b.v"};
    BOOST_TEST(state_names("adam") == plain, boost::test_tools::per_element());
    const std::vector<std::string> ams = {"step",    "a.steps", "a.m", "a.v",    "a.v_max",
                                          "b.steps", "b.m",     "b.v", "b.v_max"};
    BOOST_TEST(state_names("adam amsgrad=true") == ams, boost::test_tools::per_element());

    OptimizerRig rig(kSpec);
    plexus::Parameter& w = rig.add("w", {1, -1});
    rig.build();
    BOOST_TEST(mismatch(rig.state("step"), {0}) == "");
    for (const Values& g : {Values{2, 1}, Values{-2, 1}, Values{2, 1}}) {
        rig.set_grad(w, g);
        rig.step();
    }
    // The moments of the first test after three steps.
    BOOST_TEST(mismatch(rig.state("step"), {3}) == "");
    BOOST_TEST(mismatch(rig.state("w.m"), {0.75f, 0.875f}) == "");
    BOOST_TEST(mismatch(rig.state("w.v"), {2.3125f, 0.578125f}) == "");
}

BOOST_AUTO_TEST_CASE(restored_step_count_drives_the_bias_correction) {
    // A checkpoint restore writes into the tensors state() handed out; the next step reads
    // the counts back. With m = v = 0 restored and w's count 100 → 101, bc1 = 1 − .5^101 ≈ 1 and
    // bc2 = 1 − .75^101 ≈ 1: g = 2 gives m = 1, v = 1, w = 1 − .1·1/(1 + .5) = 0.9333333,
    // where a fresh optimizer would step by .1·2/2.5 = 0.08.
    OptimizerRig rig(kSpec);
    plexus::Parameter& w = rig.add("w", {1});
    rig.build();
    for (const auto& s : rig.optimizer->state())
        if (s.name == "step" || s.name == "w.steps") rig.device->upload(s.value, Values{100});
    rig.set_grad(w, {2});
    rig.step();
    BOOST_TEST(mismatch(rig.state("step"), {101}) == "");
    BOOST_TEST(mismatch(rig.state("w.steps"), {101}) == "");
    BOOST_TEST(mismatch(rig.value(w), {0.9333333f}) == "");
}

BOOST_AUTO_TEST_CASE(a_parameter_unfrozen_late_is_bias_corrected_from_its_first_update) {
    // Frozen for two steps (transfer learning), w's moments are still zero when it is
    // unfrozen. Its first update must be a first step, w = 1 − .1·2/2.5 = 0.92 (m̂ = 2,
    // v̂ = 4), not one with the global t = 3: m̂ = 1/.875, v̂ = 1/.578125, w = 1 − .1·1.1428571 /
    // (1.3151919 + .5) = 0.9370354. b, trainable throughout, counts three updates.
    OptimizerRig rig(kSpec);
    plexus::Parameter& w = rig.add("w", {1});
    plexus::Parameter& b = rig.add("b", {1});
    rig.build();
    w.trainable = false;
    for (int i = 0; i < 3; ++i) {
        if (i == 2) w.trainable = true;
        rig.set_grad(w, {2});
        rig.set_grad(b, {2});
        rig.step();
    }
    BOOST_TEST(mismatch(rig.value(w), {0.92f}) == "");
    BOOST_TEST(mismatch(rig.state("step"), {3}) == "");
    BOOST_TEST(mismatch(rig.state("w.steps"), {1}) == "");
    BOOST_TEST(mismatch(rig.state("b.steps"), {3}) == "");
}

BOOST_AUTO_TEST_CASE(cpu_device_runs_the_fused_kernel_like_the_primitives) {
    // The device must take the key (otherwise the comparison below would be vacuous).
    auto device = load<plexus::Device>("cpu");
    const auto t = [&](Values v) { return make_tensor(*device, {v.size()}, v); };
    plexus::Tensor g = t({2}), w = t({1}), m = t({0}), v = t({0});
    const auto update = [&](const plexus::Tensor& value) {
        return plexus::fused::AdamUpdate{.grad = g, .value = value, .m = m, .v = v, .lr = 0.1f,
                                         .beta1 = 0.5f, .beta2 = 0.75f, .epsilon = 0.5f,
                                         .bias_correction1 = 0.5f, .bias_correction2 = 0.25f,
                                         .weight_decay = 0.0f, .grad_scale = 1.0f,
                                         .clipvalue = 0.0f};
    };
    BOOST_TEST(device->try_fused(update(w)));
    BOOST_TEST(mismatch(to_host(*device, w), {0.92f}) == "");  // the first step of the first test
    const plexus::Tensor wrong_size = t({1, 2});
    BOOST_CHECK_THROW(device->try_fused(update(wrong_size)), plexus::DeviceError);

    BOOST_TEST(check_fused_matches_primitive("adam lr=0.01") == "");
    const std::string clipped = "adam lr=0.01 amsgrad=true clipnorm=20 clipvalue=1";
    BOOST_TEST(check_fused_matches_primitive(clipped) == "");
    BOOST_TEST(check_fused_matches_primitive("adamw lr=0.01 weight_decay=0.1 amsgrad=true") == "");
}

BOOST_AUTO_TEST_CASE(defaults_and_ranges) {
    BOOST_TEST(load<plexus::Optimizer>("adam")->learning_rate() == 0.001f);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("adam lr=0"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("adam beta1=1"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("adam beta2=-0.1"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("adam epsilon=0"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("adam clipnorm=-1"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("adam weight_decay=0.1"), plexus::ParamError);

    // step() with other parameters than build() got is a clear error, not a crash.
    OptimizerRig rig("adam");
    rig.add("w", {1});
    BOOST_CHECK_THROW(rig.optimizer->step(rig.params, 0.1f), plexus::Error);
    rig.build();
    rig.add("extra", {1});
    BOOST_CHECK_THROW(rig.optimizer->step(rig.params, 0.1f), plexus::Error);
}

// adamw: the same update with decoupled weight decay, from the same library.
BOOST_AUTO_TEST_SUITE(adamw)

BOOST_AUTO_TEST_CASE(three_steps_with_decoupled_weight_decay) {
    // lr .1, β1 .5, β2 .75, ε .5, wd .5: each step first shrinks w by (1 − lr·wd) = .95, then
    // takes adam's step, whose moments never see w (g = 2, −2, 2; see the first adam case above:
    // the adam steps are −.08, +.0266667, −.0342857).
    //  t1: 1·.95 − .08 = 0.87
    //  t2: .87·.95 = .8265 + .0266667 = 0.8531667
    //  t3: .8531667·.95 = .8105083 − .0342857 = 0.7762226
    BOOST_TEST(check_steps("adamw lr=0.1 beta1=0.5 beta2=0.75 epsilon=0.5 weight_decay=0.5", {1},
                           {{2}, {-2}, {2}}, {{0.87f}, {0.8531667f}, {0.7762226f}}) == "");
}

BOOST_AUTO_TEST_CASE(decay_is_not_scaled_by_the_adaptive_denominator) {
    // With zero gradients m = 0, so only the decay moves w: w·(1 − lr·wd)^t. With the default
    // weight_decay 0.01 and lr 1: 2 → 1.98 → 1.9602 → 1.940598. (L2 added to the gradient
    // would instead be divided by sqrt(v̂) and move w by about lr per step.)
    BOOST_TEST(check_steps("adamw lr=1", {2}, {{0}, {0}, {0}},
                           {{1.98f}, {1.9602f}, {1.940598f}}) == "");
}

BOOST_AUTO_TEST_CASE(amsgrad_and_state) {
    // amsgrad with decay; g = 2, 0, 1 as the adam amsgrad case above, whose adam-only updates are
    // −.08, −.0331369 (= .8868631 − .92), −.0472205 (= .8396426 − .8868631).
    //  t1: .95 − .08 = 0.87;  t2: .8265 − .0331369 = 0.7933631;
    //  t3: .7536949 − .0472205 = 0.7064744
    BOOST_TEST(
        check_steps("adamw lr=0.1 beta1=0.5 beta2=0.75 epsilon=0.5 weight_decay=0.5 amsgrad=true",
                    {1}, {{2}, {0}, {1}}, {{0.87f}, {0.7933631f}, {0.7064744f}}) == "");
    const std::vector<std::string> names = {"step",    "a.steps", "a.m", "a.v",
                                            "b.steps", "b.m",     "b.v"};
    BOOST_TEST(state_names("adamw") == names, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(clipping_and_fused_path) {
    // clipvalue=1 turns g = 2, −2, 2 into 1, −1, 1 (adam's steps −.0666667,
    // +.0222222, −.0285714): .95 − .0666667 = 0.8833333; .8391667 + .0222222 = 0.8613889;
    // .8183194 − .0285714 = 0.7897480
    BOOST_TEST(
        check_steps("adamw lr=0.1 beta1=0.5 beta2=0.75 epsilon=0.5 weight_decay=0.5 clipvalue=1",
                    {1}, {{2}, {-2}, {2}}, {{0.8833333f}, {0.8613889f}, {0.7897480f}}) == "");
    BOOST_TEST(check_fused_matches_primitive("adamw lr=0.01 clipnorm=15") == "");
}

BOOST_AUTO_TEST_CASE(defaults_and_ranges) {
    BOOST_TEST(load<plexus::Optimizer>("adamw")->learning_rate() == 0.001f);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("adamw weight_decay=-0.1"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("adamw beta2=1"), plexus::ParamError);
}

BOOST_AUTO_TEST_SUITE_END()
