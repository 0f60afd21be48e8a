#define BOOST_TEST_MODULE simple_rnn
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "recurrent_checks.hpp"

using plexus::testing::load;
using plexus::testing::make_tensor;
using plexus::testing::to_host;

namespace {

const std::vector<plexus::test::TorchCase> kTorch = {
#include "torch_reference.inc"
};

}  // namespace

BOOST_AUTO_TEST_CASE(outputs_and_input_gradients_match_pytorch) {
    plexus::test::check_torch_cases(kTorch, {""});
}

BOOST_AUTO_TEST_CASE(gradients_match_finite_differences) {
    plexus::test::check_recurrent_gradients("simple_rnn", {""}, "activation=sigmoid");
}

BOOST_AUTO_TEST_CASE(nothing_is_allocated_after_build) {
    for (const char* spec : {"simple_rnn units=3", "simple_rnn units=3 return_sequences=true bidirectional=true"})
        plexus::test::check_no_allocation(spec);
}

// One unit, two steps, by hand: h1 = tanh(w*x1 + b), h2 = tanh(w*x2 + u*h1 + b).
BOOST_AUTO_TEST_CASE(two_steps_by_hand) {
    auto device = load<plexus::Device>("cpu");
    auto layer = load<plexus::Layer>("simple_rnn units=1 return_sequences=true");
    layer->build({1, 2, 1}, *device, {});
    const auto params = layer->parameters();
    BOOST_REQUIRE_EQUAL(params.size(), 3u);
    device->upload(params[0]->value, std::vector<float>{0.5f});   // w
    device->upload(params[1]->value, std::vector<float>{-2.0f});  // u
    device->upload(params[2]->value, std::vector<float>{0.25f});  // b
    const auto x = make_tensor(*device, {1, 2, 1}, {1.0f, 3.0f});
    const auto y = device->alloc({1, 2, 1});
    layer->forward(x, y, plexus::Mode::infer);
    const float h1 = std::tanh(0.75f), h2 = std::tanh(1.5f - 2.0f * h1 + 0.25f);
    plexus::test::check_close(to_host(*device, y), {h1, h2});
    // dL/dy = [0, 1]: dpre2 = 1 - h2^2; dx2 = w*dpre2; dh1 = u*dpre2; dx1 = w*(1 - h1^2)*dh1.
    const auto dy = make_tensor(*device, {1, 2, 1}, {0.0f, 1.0f});
    const auto dx = device->alloc({1, 2, 1});
    layer->backward(x, y, dy, &dx);
    const float d2 = 1 - h2 * h2, d1 = (1 - h1 * h1) * -2.0f * d2;
    plexus::test::check_close(to_host(*device, dx), {0.5f * d1, 0.5f * d2});
    plexus::test::check_close(to_host(*device, params[0]->grad), {1.0f * d1 + 3.0f * d2});
    plexus::test::check_close(to_host(*device, params[1]->grad), {h1 * d2});
    plexus::test::check_close(to_host(*device, params[2]->grad), {d1 + d2});
}
