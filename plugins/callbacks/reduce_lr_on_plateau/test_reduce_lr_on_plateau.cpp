// reduce_lr_on_plateau on synthetic histories: the rate after each epoch, hand-computed from
// Keras' rules (wait counter, cooldown, min_lr floor, min_delta). Rates are powers of two
// where possible so the expected values are exact.
#define BOOST_TEST_MODULE reduce_lr_on_plateau
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"
#include "plexus/testing/callbacks.hpp"

namespace {

// The learning rate after each epoch's end, for `values` of `monitor`.
std::vector<float> rates(const std::string& spec, const std::vector<double>& values,
                         const std::string& monitor = "val_loss") {
    auto cb = plexus::testing::load<plexus::Callback>(spec);
    auto s = plexus::testing::make_train_state(values.size(), nullptr, 1, 1.0f);
    cb->on_train_begin(s);
    std::vector<float> out;
    for (std::size_t e = 0; e < values.size(); ++e) {
        plexus::testing::run_epoch(*cb, s, e, {{"loss", 1.0}, {monitor, values[e]}});
        out.push_back(s.learning_rate);
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(reduces_after_patience_epochs_without_improvement) {
    const auto lr = rates("reduce_lr_on_plateau patience=2 factor=0.5", {1, 1, 1, 1, 1, 0.5, 0.6});
    BOOST_TEST(lr == (std::vector<float>{1, 1, 0.5f, 0.5f, 0.25f, 0.25f, 0.25f}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(cooldown_epochs_do_not_count_as_waiting) {
    const auto lr =
        rates("reduce_lr_on_plateau patience=1 cooldown=2 factor=0.5", {1, 1, 1, 1, 1, 1});
    // Reduced at epoch 2 (1-based); the next two epochs are cooldown, the second of which
    // also clears the wait counter, so the next reduction comes at epoch 4, then 6.
    BOOST_TEST(lr == (std::vector<float>{1, 0.5f, 0.5f, 0.25f, 0.25f, 0.125f}),
               boost::test_tools::per_element());

    const auto no_cooldown = rates("reduce_lr_on_plateau patience=1 factor=0.5", {1, 1, 1});
    BOOST_TEST(no_cooldown == (std::vector<float>{1, 0.5f, 0.25f}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(never_goes_below_min_lr) {
    const auto lr = rates("reduce_lr_on_plateau patience=0 factor=0.5 min_lr=0.3", {1, 1, 1, 1});
    BOOST_TEST(lr == (std::vector<float>{1, 0.5f, 0.3f, 0.3f}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(min_delta_and_mode) {
    // 1.0 -> 0.99995 is less than the default min_delta 1e-4: not an improvement.
    BOOST_TEST(rates("reduce_lr_on_plateau patience=1 factor=0.5", {1.0, 0.99995})[1] == 0.5f);
    BOOST_TEST(rates("reduce_lr_on_plateau patience=1 factor=0.5", {1.0, 0.9998})[1] == 1.0f);
    // Accuracy is maximised in mode auto: a rising accuracy keeps the rate.
    BOOST_TEST(rates("reduce_lr_on_plateau monitor=val_accuracy patience=1 factor=0.5",
                     {0.5, 0.6, 0.7}, "val_accuracy")
                   .back() == 1.0f);
    BOOST_TEST(rates("reduce_lr_on_plateau monitor=val_accuracy mode=min patience=1 factor=0.5",
                     {0.5, 0.6, 0.7}, "val_accuracy")
                   .back() == 0.25f);
}

BOOST_AUTO_TEST_CASE(factor_must_be_below_one_and_the_monitor_logged) {
    BOOST_CHECK_THROW(plexus::testing::load<plexus::Callback>("reduce_lr_on_plateau factor=1"),
                      plexus::Error);
    BOOST_CHECK_THROW(rates("reduce_lr_on_plateau monitor=val_acc", {1.0}), plexus::Error);
}
