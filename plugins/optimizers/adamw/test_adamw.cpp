#define BOOST_TEST_MODULE adamw
#include "../common/test_support.hpp"

using namespace optimizer_test;

BOOST_AUTO_TEST_CASE(three_steps_with_decoupled_weight_decay) {
    // lr .1, β1 .5, β2 .75, ε .5, wd .5: each step first shrinks w by (1 − lr·wd) = .95, then
    // takes adam's step, whose moments never see w (g = 2, −2, 2; see test_adam's first case:
    // the adam steps are −.08, +.0266667, −.0342857).
    //  t1: 1·.95 − .08 = 0.87
    //  t2: .87·.95 = .8265 + .0266667 = 0.8531667
    //  t3: .8531667·.95 = .8105083 − .0342857 = 0.7762226
    check_steps("adamw lr=0.1 beta1=0.5 beta2=0.75 epsilon=0.5 weight_decay=0.5", {1},
                {{2}, {-2}, {2}}, {{0.87f}, {0.8531667f}, {0.7762226f}});
}

BOOST_AUTO_TEST_CASE(decay_is_not_scaled_by_the_adaptive_denominator) {
    // With zero gradients m = 0, so only the decay moves w: w·(1 − lr·wd)^t. With the default
    // weight_decay 0.01 and lr 1: 2 → 1.98 → 1.9602 → 1.940598. (L2 added to the gradient
    // would instead be divided by sqrt(v̂) and move w by about lr per step.)
    check_steps("adamw lr=1", {2}, {{0}, {0}, {0}}, {{1.98f}, {1.9602f}, {1.940598f}});
}

BOOST_AUTO_TEST_CASE(amsgrad_and_state) {
    // amsgrad with decay; g = 2, 0, 1 as test_adam's amsgrad case, whose adam-only updates are
    // −.08, −.0331369 (= .8868631 − .92), −.0472205 (= .8396426 − .8868631).
    //  t1: .95 − .08 = 0.87;  t2: .8265 − .0331369 = 0.7933631;
    //  t3: .7536949 − .0472205 = 0.7064744
    check_steps("adamw lr=0.1 beta1=0.5 beta2=0.75 epsilon=0.5 weight_decay=0.5 amsgrad=true",
                {1}, {{2}, {0}, {1}}, {{0.87f}, {0.7933631f}, {0.7064744f}});
    const std::vector<std::string> names = {"step", "a.m", "a.v", "b.m", "b.v"};
    BOOST_TEST(state_names("adamw") == names, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(clipping_and_fused_path) {
    // clipvalue=1 turns g = 2, −2, 2 into 1, −1, 1 (test_adam: adam steps −.0666667,
    // +.0222222, −.0285714): .95 − .0666667 = 0.8833333; .8391667 + .0222222 = 0.8613889;
    // .8183194 − .0285714 = 0.7897480
    check_steps("adamw lr=0.1 beta1=0.5 beta2=0.75 epsilon=0.5 weight_decay=0.5 clipvalue=1",
                {1}, {{2}, {-2}, {2}}, {{0.8833333f}, {0.8613889f}, {0.7897480f}});
    check_fused_matches_primitive("adamw lr=0.01 clipnorm=15");
}

BOOST_AUTO_TEST_CASE(defaults_and_ranges) {
    BOOST_TEST(load<plexus::Optimizer>("adamw")->learning_rate() == 0.001f);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("adamw weight_decay=-0.1"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("adamw beta2=1"), plexus::ParamError);
}
