// unfreeze on a FakeModel of four layers, 0-2 frozen: trainability and the learning rate
// before, at and after epoch N; its checkpoint state on resume; bad parameters.
#define BOOST_TEST_MODULE unfreeze
#include <boost/test/unit_test.hpp>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"
#include "plexus/testing/callbacks.hpp"

using plexus::testing::FakeModel;
using plexus::testing::load;
using plexus::testing::make_train_state;
using plexus::testing::run_epoch;

namespace {

FakeModel frozen_model() {
    FakeModel m;
    m.trainable = {false, false, false, true};
    return m;
}

}  // namespace

BOOST_AUTO_TEST_CASE(unfreezes_the_layers_and_scales_the_rate_at_the_start_of_epoch_n) {
    auto cb = load<plexus::Callback>("unfreeze epoch=3 layers=0-1 lr_factor=0.5");
    FakeModel model = frozen_model();
    auto s = make_train_state(5, &model, 2, 0.1f);
    cb->on_train_begin(s);
    run_epoch(*cb, s, 0, {{"loss", 1.0}});
    run_epoch(*cb, s, 1, {{"loss", 1.0}});
    BOOST_TEST((model.trainable == std::vector<bool>{false, false, false, true}));
    BOOST_TEST(s.learning_rate == 0.1f);
    s.epoch = 2;  // epoch 3, counted from 1
    cb->on_epoch_begin(s);
    BOOST_TEST((model.trainable == std::vector<bool>{true, true, false, true}));
    BOOST_TEST(s.learning_rate == 0.05f);
    cb->on_epoch_end(s);
    run_epoch(*cb, s, 3, {{"loss", 1.0}});  // once only
    BOOST_TEST(s.learning_rate == 0.05f);
}

BOOST_AUTO_TEST_CASE(a_resumed_run_after_epoch_n_gets_its_layers_back_without_scaling_again) {
    auto first = load<plexus::Callback>("unfreeze epoch=2 layers=0,2");
    FakeModel model = frozen_model();
    auto s = make_train_state(4, &model, 1, 1.0f);
    first->on_train_begin(s);
    run_epoch(*first, s, 0, {{"loss", 1.0}});
    plexus::SavedState before;
    first->checkpoint(before);
    run_epoch(*first, s, 1, {{"loss", 1.0}});
    BOOST_TEST(s.learning_rate == 0.1f, boost::test_tools::tolerance(1e-7f));  // default 0.1
    plexus::SavedState after;
    first->checkpoint(after);

    // The resumed run: freeze applied again, the trainer's checkpoint holds the rate.
    auto second = load<plexus::Callback>("unfreeze epoch=2 layers=0,2");
    FakeModel again = frozen_model();
    auto r = make_train_state(4, &again, 1, 0.1f);
    second->on_train_begin(r);
    second->resume(after);
    BOOST_TEST((again.trainable == std::vector<bool>{true, false, true, true}));
    run_epoch(*second, r, 2, {{"loss", 1.0}});
    BOOST_TEST(r.learning_rate == 0.1f);

    // Resumed before epoch 2: it still unfreezes at epoch 2.
    auto third = load<plexus::Callback>("unfreeze epoch=2 layers=0,2");
    FakeModel early = frozen_model();
    auto e = make_train_state(4, &early, 1, 1.0f);
    third->on_train_begin(e);
    third->resume(before);
    BOOST_TEST((early.trainable == std::vector<bool>{false, false, false, true}));
    run_epoch(*third, e, 1, {{"loss", 1.0}});
    BOOST_TEST((early.trainable == std::vector<bool>{true, false, true, true}));
    BOOST_CHECK_THROW(third->resume(plexus::SavedState{}), plexus::Error);
}

BOOST_AUTO_TEST_CASE(bad_parameters_and_layers_the_model_lacks_are_errors) {
    BOOST_CHECK_THROW(load<plexus::Callback>("unfreeze epoch=2"), plexus::Error);  // no layers
    BOOST_CHECK_THROW(load<plexus::Callback>("unfreeze layers=3-1"), plexus::Error);
    BOOST_CHECK_THROW(load<plexus::Callback>("unfreeze layers=a"), plexus::Error);
    BOOST_CHECK_THROW(load<plexus::Callback>("unfreeze layers=0 epoch=0"), plexus::Error);
    BOOST_CHECK_THROW(load<plexus::Callback>("unfreeze layers=0 lr_factor=0"), plexus::Error);
    auto cb = load<plexus::Callback>("unfreeze layers=0-4");
    FakeModel model = frozen_model();
    auto s = make_train_state(2, &model);
    try {
        cb->on_train_begin(s);
        BOOST_FAIL("layer 4 of a four-layer model was accepted");
    } catch (const plexus::Error& e) {
        BOOST_TEST(std::string(e.what()).find("layer 4 does not exist (the model has 4 layers") !=
                   std::string::npos, e.what());
    }
    auto none = load<plexus::Callback>("unfreeze layers=0");
    auto no_model = make_train_state(2);
    BOOST_CHECK_THROW(none->on_train_begin(no_model), plexus::Error);
}
