// terminate_on_nan: stops on a NaN or infinite running loss at a batch's end, or on any
// non-finite value logged at an epoch's end, with the epoch, step and a hint.
#define BOOST_TEST_MODULE terminate_on_nan
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"
#include "plexus/testing/callbacks.hpp"

namespace {

using plexus::testing::make_train_state;
using plexus::testing::run_epoch;

}  // namespace

BOOST_AUTO_TEST_CASE(stops_on_a_nan_running_loss_with_epoch_and_step) {
    auto cb = plexus::testing::load<plexus::Callback>("terminate_on_nan");
    auto s = make_train_state(5, nullptr, 10);
    cb->on_train_begin(s);
    BOOST_TEST(!run_epoch(*cb, s, 0, {{"loss", 0.5}, {"val_loss", 0.6}, {"lr", 0.1}}));

    s.epoch = 1;
    cb->on_epoch_begin(s);
    s.batch = 0;
    s.batch_logs.set("loss", 0.4);
    cb->on_batch_end(s);
    BOOST_TEST(!s.stop_training);
    s.batch = 6;
    s.batch_logs.set("loss", std::nan(""));
    cb->on_batch_end(s);
    BOOST_TEST(s.stop_training);
    BOOST_TEST(s.stop_reason == "loss became NaN at epoch 2 step 7: lower the learning rate");
}

BOOST_AUTO_TEST_CASE(stops_on_any_non_finite_epoch_value) {
    auto cb = plexus::testing::load<plexus::Callback>("terminate_on_nan");
    auto s = make_train_state(5);
    cb->on_train_begin(s);
    const double inf = std::numeric_limits<double>::infinity();
    BOOST_TEST(run_epoch(*cb, s, 2, {{"loss", 0.5}, {"val_loss", inf}}));
    BOOST_TEST(s.stop_reason == "val_loss became infinite at epoch 3: lower the learning rate");
}
