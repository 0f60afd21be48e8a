#define BOOST_TEST_MODULE lstm
#include <boost/test/unit_test.hpp>

#include <cmath>
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

std::vector<float> values(plexus::Device& device, plexus::Layer& layer, const std::string& name) {
    for (plexus::Parameter* p : layer.parameters())
        if (p->name == name) return to_host(device, p->value);
    BOOST_FAIL("no parameter " << name);
    return {};
}

}  // namespace

BOOST_AUTO_TEST_CASE(outputs_and_input_gradients_match_pytorch) {
    plexus::test::check_torch_cases(kTorch, kModes);
}

BOOST_AUTO_TEST_CASE(gradients_match_finite_differences) {
    plexus::test::check_recurrent_gradients("lstm", kModes,
                                            "activation=sigmoid recurrent_activation=tanh");
}

BOOST_AUTO_TEST_CASE(fused_cell_matches_the_primitive_path) {
    plexus::test::check_fused_matches_primitive(
        "lstm", plexus::fused::Key::lstm_cell_forward,
        {"units=4", "units=3 return_sequences=true bidirectional=true",
         "units=3 activation=relu recurrent_activation=linear use_bias=false unit_forget_bias=false"});
}

BOOST_AUTO_TEST_CASE(nothing_is_allocated_after_build) {
    for (const char* spec : {"lstm units=3", "lstm units=2 bidirectional=true",
                             "lstm units=3 return_sequences=true bidirectional=true fused=false"})
        plexus::test::check_no_allocation(spec);
}

BOOST_AUTO_TEST_CASE(initialisation_follows_keras) {
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("lstm units=4 l1=0.5 l2=0.25");
    layer->build({2, 3, 5}, *device, {7, 0});
    const auto params = layer->parameters();
    BOOST_REQUIRE_EQUAL(params.size(), 3u);
    BOOST_TEST((params[0]->value.shape() == plexus::Shape{5, 16}));
    BOOST_TEST((params[1]->value.shape() == plexus::Shape{4, 16}));
    BOOST_TEST((params[2]->value.shape() == plexus::Shape{16}));
    // glorot_uniform with fan_in 5 and fan_out 16.
    const float limit = std::sqrt(6.0f / 21.0f);
    for (float w : values(*device, *layer, "kernel")) BOOST_TEST(std::abs(w) <= limit);
    // orthogonal: the rows of U [4, 16] are orthonormal.
    const auto u = values(*device, *layer, "recurrent_kernel");
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t j = 0; j < 4; ++j) {
            double dot = 0;
            for (std::size_t k = 0; k < 16; ++k) dot += double(u[i * 16 + k]) * u[j * 16 + k];
            BOOST_TEST(std::abs(dot - (i == j ? 1.0 : 0.0)) < 1e-5, i << "," << j << ": " << dot);
        }
    // unit_forget_bias: 1 for the forget gate (the second block of 4), else 0.
    const auto b = values(*device, *layer, "bias");
    for (std::size_t i = 0; i < 16; ++i) BOOST_TEST(b[i] == (i >= 4 && i < 8 ? 1.0f : 0.0f));
    // The penalties are on both kernels, never on the bias.
    BOOST_TEST(params[0]->l1 == 0.5f);
    BOOST_TEST(params[1]->l2 == 0.25f);
    BOOST_TEST(params[2]->l1 == 0.0f);
    BOOST_TEST(params[2]->l2 == 0.0f);

    auto plain = load<plexus::Layer>("lstm units=4 unit_forget_bias=false bidirectional=true");
    plain->build({2, 3, 5}, *device, {7, 0});
    std::vector<std::string> names;
    for (plexus::Parameter* p : plain->parameters()) names.push_back(p->name);
    const std::vector<std::string> want = {"forward_kernel",  "forward_recurrent_kernel",
                                           "forward_bias",    "backward_kernel",
                                           "backward_recurrent_kernel", "backward_bias"};
    BOOST_TEST(names == want, boost::test_tools::per_element());
    for (float v : values(*device, *plain, "backward_bias")) BOOST_TEST(v == 0.0f);
    // The two directions start from different weights.
    BOOST_TEST(values(*device, *plain, "forward_kernel") != values(*device, *plain, "backward_kernel"));
}

BOOST_AUTO_TEST_CASE(a_frozen_layer_computes_no_weight_gradient_but_passes_dx) {
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("lstm units=3 trainable=false");
    const plexus::Shape in{2, 4, 2};
    const plexus::Shape out = layer->build(in, *device, {});
    for (plexus::Parameter* p : layer->parameters()) BOOST_TEST(!p->trainable);
    const auto x = plexus::testing::make_tensor(*device, in, plexus::test::pattern(16, 37, 23, 11, 8));
    const auto y = device->alloc(out), dx = device->alloc(in);
    const auto dy = plexus::testing::make_tensor(*device, out, std::vector<float>(6, 1.0f));
    layer->forward(x, y, plexus::Mode::train);
    layer->backward(x, y, dy, &dx);
    for (plexus::Parameter* p : layer->parameters())
        for (float g : to_host(*device, p->grad)) BOOST_TEST(g == 0.0f);
    double sum = 0;
    for (float g : to_host(*device, dx)) sum += std::abs(g);
    BOOST_TEST(sum > 0.0);
}

BOOST_AUTO_TEST_CASE(shape_errors_name_the_layer_and_the_shapes) {
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("lstm units=3");
    BOOST_CHECK_EXCEPTION(layer->build({4, 10}, *device, {}), plexus::ShapeError,
                          [](const plexus::ShapeError& e) {
                              return std::string(e.what()) ==
                                     "lstm: expected input [batch, time, features] (a sequence "
                                     "[T, F] per sample), got [4, 10]";
                          });
    layer->build({4, 5, 2}, *device, {});
    const auto x = device->alloc({4, 5, 3}), y = device->alloc({4, 3});
    BOOST_CHECK_EXCEPTION(layer->forward(x, y, plexus::Mode::infer), plexus::ShapeError,
                          [](const plexus::ShapeError& e) {
                              return std::string(e.what()).find("lstm: built for [4, 5, 2]") == 0;
                          });
}
