// exponential_decay: learning-rate sequences per epoch and per step, continuous and staircase,
// hand-computed.
#define BOOST_TEST_MODULE exponential_decay
#include <boost/test/unit_test.hpp>
#include <vector>

#include "plexus/testing/callbacks.hpp"

namespace tt = boost::test_tools;
using plexus::testing::step_rates;

BOOST_AUTO_TEST_CASE(per_epoch, *boost::unit_test::tolerance(1e-6f)) {
    // 0.5^(e/2) for e = 0..4
    BOOST_TEST(step_rates("exponential_decay decay_rate=0.5 decay_steps=2", 5) ==
                   (std::vector<float>{1, 0.70710678f, 0.5f, 0.35355339f, 0.25f}),
               tt::per_element());
    BOOST_TEST(step_rates("exponential_decay decay_rate=0.5 decay_steps=2 staircase=true", 5) ==
                   (std::vector<float>{1, 1, 0.5f, 0.5f, 0.25f}),
               tt::per_element());
    // Defaults: times 0.9 per epoch, from 0.1.
    BOOST_TEST(
        step_rates("exponential_decay", 3, 1, 0.1f) == (std::vector<float>{0.1f, 0.09f, 0.081f}),
        tt::per_element());
}

BOOST_AUTO_TEST_CASE(per_step, *boost::unit_test::tolerance(1e-6f)) {
    // 2 epochs of 3 steps: 0.5^(n/3) for n = 0..5, across the epoch boundary.
    BOOST_TEST(
        step_rates("exponential_decay decay_rate=0.5 decay_steps=3 per=step", 2, 3) ==
            (std::vector<float>{1, 0.79370053f, 0.62996052f, 0.5f, 0.39685026f, 0.31498026f}),
        tt::per_element());
    BOOST_TEST(step_rates("exponential_decay decay_rate=0.5 decay_steps=3 per=step staircase=true",
                          2, 3) == (std::vector<float>{1, 1, 1, 0.5f, 0.5f, 0.5f}),
               tt::per_element());
}
