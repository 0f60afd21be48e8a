// step_decay: the learning-rate sequence, hand-computed.
#define BOOST_TEST_MODULE step_decay
#include <boost/test/unit_test.hpp>
#include <vector>

#include "plexus/testing/callbacks.hpp"

namespace tt = boost::test_tools;
using plexus::testing::step_rates;

BOOST_AUTO_TEST_CASE(multiplies_by_gamma_every_step_size_epochs) {
    BOOST_TEST(step_rates("step_decay step_size=2 gamma=0.5", 5) ==
                   (std::vector<float>{1, 1, 0.5f, 0.5f, 0.25f}),
               tt::per_element());
    // Defaults: every 10 epochs, times 0.1; from the optimizer's rate 0.05.
    const auto lr = step_rates("step_decay", 21, 1, 0.05f);
    BOOST_TEST(lr[0] == 0.05f, tt::tolerance(1e-6f));
    BOOST_TEST(lr[9] == 0.05f, tt::tolerance(1e-6f));
    BOOST_TEST(lr[10] == 0.005f, tt::tolerance(1e-6f));
    BOOST_TEST(lr[20] == 0.0005f, tt::tolerance(1e-6f));
    BOOST_CHECK_THROW(step_rates("step_decay step_size=0", 1), plexus::Error);
}

BOOST_AUTO_TEST_CASE(is_computed_from_the_initial_rate_not_compounded) {
    auto cb = plexus::testing::load<plexus::Callback>("step_decay step_size=1 gamma=0.5");
    auto s = plexus::testing::make_train_state(3, nullptr, 1, 1.0f);
    cb->on_train_begin(s);
    cb->on_epoch_begin(s);
    s.learning_rate = 123.0f;  // someone else changed it during epoch 1
    s.epoch = 1;
    cb->on_epoch_begin(s);
    BOOST_TEST(s.learning_rate == 0.5f);
}
