// early_stopping on synthetic histories: patience and min_delta boundaries, baseline,
// start_from_epoch, mode, restoring the best epoch's weights, and the missing-monitor error.
#define BOOST_TEST_MODULE early_stopping
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"
#include "plexus/testing/callbacks.hpp"

namespace {

using plexus::testing::FakeModel;
using plexus::testing::make_train_state;

struct Run {
    std::shared_ptr<plexus::Callback> cb;
    FakeModel model;
    plexus::TrainState state;
    std::size_t epoch = 0;

    Run(const std::string& spec, std::size_t epochs = 20)
        : cb(plexus::testing::load<plexus::Callback>(spec)),
          state(make_train_state(epochs, &model)) {
        cb->on_train_begin(state);
    }
    // One epoch whose weights are {epoch index}; returns whether the callback stopped.
    bool epoch_with(const std::string& key, double value) {
        model.weights = {static_cast<float>(epoch)};
        return plexus::testing::run_epoch(*cb, state, epoch++, {{"loss", 1.0}, {key, value}});
    }
    // Feeds values until the callback stops; returns the 0-based epoch it stopped at, or -1.
    int stop_epoch(const std::string& key, const std::vector<double>& values) {
        for (double v : values)
            if (epoch_with(key, v)) return static_cast<int>(epoch - 1);
        return -1;
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(stops_after_patience_epochs_without_improvement) {
    Run run("early_stopping monitor=val_loss patience=2");
    // improve, improve, worse (wait 1), worse (wait 2 = patience: stop)
    BOOST_TEST(run.stop_epoch("val_loss", {1.0, 0.9, 0.95, 0.92, 0.5}) == 3);

    Run zero("early_stopping patience=0");
    BOOST_TEST(zero.stop_epoch("val_loss", {1.0, 0.9, 0.9}) == 2);  // equal is not better
}

BOOST_AUTO_TEST_CASE(an_improvement_of_exactly_min_delta_does_not_count) {
    // 0.5 -> 0.375 is exactly 0.125 (all values exact in binary).
    Run exact("early_stopping patience=0 min_delta=0.125");
    BOOST_TEST(exact.stop_epoch("val_loss", {0.5, 0.375}) == 1);
    BOOST_TEST(exact.state.stop_reason ==
               "early stopping at epoch 2: val_loss did not improve by more than "
               "min_delta=0.125 for 1 epoch (best 0.5 at epoch 1); restored the weights of "
               "epoch 1");

    Run more("early_stopping patience=0 min_delta=0.125");
    BOOST_TEST(more.stop_epoch("val_loss", {0.5, 0.3749, 0.25}) == 2);
}

BOOST_AUTO_TEST_CASE(mode_auto_maximises_accuracy_and_mode_min_overrides_it) {
    Run acc("early_stopping monitor=val_accuracy patience=1");
    BOOST_TEST(acc.stop_epoch("val_accuracy", {0.80, 0.85, 0.84, 0.86}) == 2);
    BOOST_TEST(acc.state.stop_reason.find("(best 0.85 at epoch 2)") != std::string::npos,
               acc.state.stop_reason);

    Run min("early_stopping monitor=val_accuracy mode=min patience=1");
    BOOST_TEST(min.stop_epoch("val_accuracy", {0.80, 0.85}) == 1);

    Run f1("early_stopping monitor=val_f1 patience=0");
    BOOST_TEST(f1.stop_epoch("val_f1", {0.5, 0.6, 0.7, 0.6}) == 3);
}

BOOST_AUTO_TEST_CASE(baseline_must_be_beaten_within_patience) {
    // Without a baseline, 0.9 -> 0.8 -> 0.85 has waited only one epoch at the end.
    Run plain("early_stopping patience=2");
    BOOST_TEST(plain.stop_epoch("val_loss", {0.9, 0.8, 0.85}) == -1);

    // With one, improvements that do not beat it keep the wait counting (as in Keras).
    Run base("early_stopping patience=2 baseline=0.5");
    BOOST_TEST(base.stop_epoch("val_loss", {0.9, 0.8, 0.85}) == 2);
    BOOST_TEST(base.state.stop_reason ==
               "early stopping at epoch 3: val_loss did not beat baseline=0.5 in 3 epochs (best "
               "0.8 at epoch 2); restored the weights of epoch 2");

    Run beaten("early_stopping patience=2 baseline=0.5");
    BOOST_TEST(beaten.stop_epoch("val_loss", {0.9, 0.4, 0.45, 0.46, 0.47}) == 3);

    BOOST_CHECK_THROW(plexus::testing::load<plexus::Callback>("early_stopping baseline=abc"),
                      plexus::Error);
}

BOOST_AUTO_TEST_CASE(start_from_epoch_ignores_warm_up_epochs) {
    Run early("early_stopping patience=0");
    BOOST_TEST(early.stop_epoch("val_loss", {1.0, 2.0, 3.0, 3.5}) == 1);

    Run late("early_stopping patience=0 start_from_epoch=2");
    BOOST_TEST(late.stop_epoch("val_loss", {1.0, 2.0, 3.0, 3.5}) == 3);
    BOOST_TEST(late.state.stop_reason.find("(best 3 at epoch 3)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(restores_the_best_epochs_weights_when_it_stops) {
    Run run("early_stopping patience=2");
    BOOST_TEST(run.stop_epoch("val_loss", {0.5, 0.3, 0.4, 0.45}) == 3);
    BOOST_TEST(run.model.snapshots == 2u);  // once per improving epoch
    BOOST_TEST(run.state.stop_reason ==
               "early stopping at epoch 4: val_loss did not improve for 2 epochs (best 0.3 at "
               "epoch 2); restored the weights of epoch 2");
    BOOST_TEST(run.model.restored.empty());  // weights are put back when training ends
    run.cb->on_train_end(run.state);
    BOOST_REQUIRE(run.model.restored.size() == 1u);
    BOOST_TEST(run.model.restored[0] == std::vector<float>{1.0f});
    BOOST_TEST(run.model.weights == std::vector<float>{1.0f});
}

BOOST_AUTO_TEST_CASE(restores_when_the_run_ends_past_its_best_epoch) {
    Run past("early_stopping patience=5", 3);
    BOOST_TEST(past.stop_epoch("val_loss", {0.5, 0.3, 0.4}) == -1);
    past.cb->on_train_end(past.state);
    BOOST_REQUIRE(past.model.restored.size() == 1u);
    BOOST_TEST(past.model.restored[0] == std::vector<float>{1.0f});

    // The last epoch was the best: the weights in hand are already right.
    Run best("early_stopping patience=5", 3);
    BOOST_TEST(best.stop_epoch("val_loss", {0.5, 0.4, 0.3}) == -1);
    best.cb->on_train_end(best.state);
    BOOST_TEST(best.model.restored.empty());

    // An epoch that began and never ended (a NaN loss, Ctrl-C) changed the weights.
    Run cut("early_stopping patience=5", 3);
    BOOST_TEST(cut.stop_epoch("val_loss", {0.5, 0.4}) == -1);
    cut.cb->on_epoch_begin(cut.state);
    cut.cb->on_train_end(cut.state);
    BOOST_REQUIRE(cut.model.restored.size() == 1u);
    BOOST_TEST(cut.model.restored[0] == std::vector<float>{1.0f});
}

BOOST_AUTO_TEST_CASE(restore_best_false_keeps_the_last_weights) {
    Run run("early_stopping patience=1 restore_best=false");
    BOOST_TEST(run.stop_epoch("val_loss", {0.5, 0.6}) == 1);
    BOOST_TEST(run.state.stop_reason.find("kept the last epoch's weights") != std::string::npos);
    run.cb->on_train_end(run.state);
    BOOST_TEST(run.model.snapshots == 0u);
    BOOST_TEST(run.model.restored.empty());

    // Without a model, restore_best=false still works and restore_best=true is refused.
    auto cb = plexus::testing::load<plexus::Callback>("early_stopping restore_best=false");
    auto s = make_train_state(5);
    cb->on_train_begin(s);
    auto restoring = plexus::testing::load<plexus::Callback>("early_stopping");
    BOOST_CHECK_THROW(restoring->on_train_begin(s), plexus::Error);
}

BOOST_AUTO_TEST_CASE(a_missing_monitor_is_an_error_naming_the_logged_values) {
    auto cb = plexus::testing::load<plexus::Callback>("early_stopping monitor=val_los");
    FakeModel model;
    auto s = make_train_state(5, &model);
    cb->on_train_begin(s);
    const std::vector<std::pair<std::string, double>> logs = {
        {"loss", 0.5}, {"accuracy", 0.8}, {"val_loss", 0.6}, {"val_accuracy", 0.7}};
    try {
        plexus::testing::run_epoch(*cb, s, 0, logs);
        BOOST_FAIL("expected an error");
    } catch (const plexus::Error& e) {
        BOOST_TEST(std::string(e.what()) ==
                   "early_stopping: monitor 'val_los' is not logged (logged: loss, accuracy, "
                   "val_loss, val_accuracy; did you mean 'val_loss'?)");
    }

    auto no_val = plexus::testing::load<plexus::Callback>("early_stopping");
    no_val->on_train_begin(s);
    try {
        plexus::testing::run_epoch(*no_val, s, 0, {{"loss", 0.5}});
        BOOST_FAIL("expected an error");
    } catch (const plexus::Error& e) {
        BOOST_TEST(
            std::string(e.what()).find("this run has no validation data") != std::string::npos,
            e.what());
    }
}

// A resumed run (a fresh callback given the saved state after on_train_begin) stops at the same
// epoch with the same reason and restores the same weights as the run that never stopped.
BOOST_AUTO_TEST_CASE(saved_state_continues_exactly) {
    const std::vector<double> values = {0.5, 0.3, 0.4, 0.45, 0.2};
    Run whole("early_stopping patience=2");
    BOOST_TEST(whole.stop_epoch("val_loss", values) == 3);
    whole.cb->on_train_end(whole.state);

    Run first("early_stopping patience=2");
    BOOST_TEST(first.stop_epoch("val_loss", {values[0], values[1], values[2]}) == -1);
    plexus::SavedState saved;
    first.cb->checkpoint(saved);
    BOOST_TEST(saved.floats("best_weights") == std::vector<float>{1.0f});

    Run second("early_stopping patience=2");
    second.cb->resume(saved);
    second.epoch = 3;
    BOOST_TEST(second.stop_epoch("val_loss", {values[3], values[4]}) == 3);
    BOOST_TEST(second.state.stop_reason == whole.state.stop_reason);
    second.cb->on_train_end(second.state);
    BOOST_TEST((second.model.restored == whole.model.restored));
    BOOST_TEST(second.model.snapshots == 0u);  // the best weights came from the saved state

    plexus::SavedState missing;
    BOOST_CHECK_THROW(second.cb->resume(missing), plexus::Error);
}
