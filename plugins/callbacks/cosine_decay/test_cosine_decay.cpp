// cosine_decay: learning-rate sequences with and without warm-up, per epoch and per step,
// hand-computed from lr = alpha + (1 - alpha) * (1 + cos(pi * p)) / 2 after a linear warm-up
// of (n + 1) / (W + 1).
#define BOOST_TEST_MODULE cosine_decay
#include <boost/test/unit_test.hpp>
#include <vector>

#include "plexus/testing/callbacks.hpp"

namespace tt = boost::test_tools;
using plexus::testing::step_rates;

BOOST_AUTO_TEST_CASE(warm_up_then_cosine_over_the_rest_of_the_run,
                     *boost::unit_test::tolerance(1e-6f)) {
    // 6 epochs, 2 of warm-up (1/3, 2/3), then p = 0, 1/4, 2/4, 3/4 of a 4-epoch cosine.
    BOOST_TEST(step_rates("cosine_decay warmup_epochs=2", 6) ==
                   (std::vector<float>{1.0f / 3, 2.0f / 3, 1, 0.85355339f, 0.5f, 0.14644661f}),
               tt::per_element());
}

BOOST_AUTO_TEST_CASE(alpha_is_the_floor_after_decay_epochs, *boost::unit_test::tolerance(1e-6f)) {
    // decay_epochs=2: p = 0, 1/2, 1, then it stays at alpha.
    BOOST_TEST(step_rates("cosine_decay decay_epochs=2 alpha=0.1", 4, 1, 0.5f) ==
                   (std::vector<float>{0.5f, 0.275f, 0.05f, 0.05f}),
               tt::per_element());
}

BOOST_AUTO_TEST_CASE(per_step_counts_warm_up_and_decay_in_steps,
                     *boost::unit_test::tolerance(1e-6f)) {
    // 2 epochs of 2 steps; warm-up 1 epoch = 2 steps (1/3, 2/3); cosine over the remaining
    // 2 steps (p = 0, 1/2).
    BOOST_TEST(step_rates("cosine_decay warmup_epochs=1 per=step", 2, 2) ==
                   (std::vector<float>{1.0f / 3, 2.0f / 3, 1, 0.5f}),
               tt::per_element());
}
