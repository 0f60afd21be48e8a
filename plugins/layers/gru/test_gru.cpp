#define BOOST_TEST_MODULE gru
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "recurrent_checks.hpp"

using plexus::testing::load;
using plexus::testing::to_host;

namespace {

const std::vector<plexus::test::TorchCase> kTorch = {
#include "torch_reference.inc"
};

const std::vector<std::string> kModes = {"", " fused=false"};  // the device's kernel, primitives

}  // namespace

BOOST_AUTO_TEST_CASE(outputs_and_input_gradients_match_pytorch) {
    plexus::test::check_torch_cases(kTorch, kModes);
}

BOOST_AUTO_TEST_CASE(gradients_match_finite_differences) {
    plexus::test::check_recurrent_gradients("gru", kModes,
                                            "activation=sigmoid recurrent_activation=tanh");
}

BOOST_AUTO_TEST_CASE(fused_cell_matches_the_primitive_path) {
    plexus::test::check_fused_matches_primitive(
        "gru", plexus::fused::Key::gru_cell_forward,
        {"units=4", "units=3 return_sequences=true bidirectional=true",
         "units=3 activation=relu recurrent_activation=linear use_bias=false"});
}

BOOST_AUTO_TEST_CASE(nothing_is_allocated_after_build) {
    for (const char* spec : {"gru units=3", "gru units=2 bidirectional=true",
                             "gru units=3 return_sequences=true bidirectional=true fused=false"})
        plexus::test::check_no_allocation(spec);
}

BOOST_AUTO_TEST_CASE(the_bias_holds_input_and_recurrent_rows) {
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("gru units=4");
    layer->build({2, 3, 5}, *device, {7, 0});
    const auto params = layer->parameters();
    BOOST_REQUIRE_EQUAL(params.size(), 3u);
    BOOST_TEST((params[0]->value.shape() == plexus::Shape{5, 12}));
    BOOST_TEST((params[1]->value.shape() == plexus::Shape{4, 12}));
    BOOST_TEST((params[2]->value.shape() == plexus::Shape{2, 12}));
    for (float b : to_host(*device, params[2]->value)) BOOST_TEST(b == 0.0f);
}

BOOST_AUTO_TEST_CASE(reset_after_false_is_refused_with_the_alternative) {
    BOOST_CHECK_EXCEPTION(load<plexus::Layer>("gru units=3 reset_after=false"), plexus::Error,
                          [](const plexus::Error& e) {
                              return std::string(e.what()).find(
                                         "gru: reset_after=false (the original GRU of Keras 1) "
                                         "is not implemented; use reset_after=true") !=
                                     std::string::npos;
                          });
}
