// model_checkpoint: saves only on improvement (save_best_only), substitutes {epoch} and
// {run_dir}, and refuses to run without model access.
#define BOOST_TEST_MODULE model_checkpoint
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"
#include "plexus/testing/callbacks.hpp"

namespace {

using plexus::testing::FakeModel;
using plexus::testing::make_train_state;
using plexus::testing::run_epoch;

std::filesystem::path scratch() {
    return std::filesystem::temp_directory_path() /
           ("plexus-checkpoint-" + std::to_string(::getpid()));
}

// The save() paths for `values` of val_loss.
std::vector<std::string> saves(const std::string& spec, const std::vector<double>& values,
                               const std::string& run_dir = "") {
    auto cb = plexus::testing::load<plexus::Callback>(spec);
    FakeModel model;
    auto s = make_train_state(values.size(), &model);
    s.run_dir = run_dir;
    cb->on_train_begin(s);
    for (std::size_t e = 0; e < values.size(); ++e)
        run_epoch(*cb, s, e, {{"loss", 1.0}, {"val_loss", values[e]}, {"val_accuracy", values[e]}});
    return model.saved;
}

}  // namespace

BOOST_AUTO_TEST_CASE(save_best_only_saves_on_improvement_with_the_epoch_in_the_name) {
    const auto dir = scratch().string();
    const auto paths =
        saves("model_checkpoint path=" + dir + "/e{epoch}.safetensors", {0.5, 0.4, 0.4, 0.45, 0.3});
    BOOST_TEST(paths == (std::vector<std::string>{dir + "/e1.safetensors", dir + "/e2.safetensors",
                                                  dir + "/e5.safetensors"}),
               boost::test_tools::per_element());
    BOOST_TEST(std::filesystem::is_directory(dir));  // created for the file
    std::filesystem::remove_all(dir);

    // mode auto maximises accuracy (strictly: the tie at epoch 3 is not saved).
    const std::vector<double> rising = {0.5, 0.6, 0.6, 0.55, 0.7};
    BOOST_TEST(saves("model_checkpoint path=m{epoch} monitor=val_accuracy", rising) ==
                   (std::vector<std::string>{"m1", "m2", "m5"}),
               boost::test_tools::per_element());
    BOOST_TEST(saves("model_checkpoint path=m{epoch}", rising) == (std::vector<std::string>{"m1"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(every_epoch_without_save_best_only_and_run_dir_default) {
    const std::string run = (scratch() / "run").string();
    BOOST_TEST(saves("model_checkpoint save_best_only=false", {0.5, 0.6}, run) ==
                   (std::vector<std::string>{run + "/checkpoint.safetensors",
                                             run + "/checkpoint.safetensors"}),
               boost::test_tools::per_element());
    std::filesystem::remove_all(scratch());
}

BOOST_AUTO_TEST_CASE(clear_errors) {
    // No run folder for the default path, an unknown placeholder, no model access.
    BOOST_CHECK_THROW(saves("model_checkpoint", {0.5}), plexus::Error);
    BOOST_CHECK_THROW(saves("model_checkpoint path=m{step}", {0.5}), plexus::Error);
    auto cb = plexus::testing::load<plexus::Callback>("model_checkpoint path=m");
    auto s = make_train_state(1);
    try {
        cb->on_train_begin(s);
        BOOST_FAIL("expected an error");
    } catch (const plexus::Error& e) {
        BOOST_TEST(std::string(e.what()).find("TrainState.model is null") != std::string::npos);
    }
}
