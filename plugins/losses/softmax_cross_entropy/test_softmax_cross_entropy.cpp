#define BOOST_TEST_MODULE softmax_cross_entropy
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"

using plexus::testing::load;
using plexus::testing::make_tensor;
using plexus::testing::to_host;

namespace {

void check_close(const std::vector<float>& got, const std::vector<float>& want) {
    BOOST_REQUIRE_EQUAL(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        BOOST_TEST_CONTEXT("element " << i) {
            BOOST_TEST(std::abs(got[i] - want[i]) <= 1e-6f * (1.0f + std::abs(want[i])),
                       got[i] << " != " << want[i]);
        }
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(forward_and_backward_match_hand_computed_values) {
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("softmax_cross_entropy");
    loss->build({2, 2}, *device);
    // Row 0: softmax([0, ln 3]) = [1/4, 3/4], class 1 -> -ln(3/4) = ln(4/3).
    // Row 1: softmax([0, 0]) = [1/2, 1/2], class 0 -> ln 2.
    const auto pred = make_tensor(*device, {2, 2}, {0, std::log(3.0f), 0, 0});
    const auto target = make_tensor(*device, {2, 2}, {0, 1, 1, 0});
    const double want = (std::log(4.0 / 3.0) + std::log(2.0)) / 2;  // 0.490415
    BOOST_TEST(loss->forward(pred, target) == want, boost::test_tools::tolerance(1e-6));

    // (softmax - target) / rows
    const auto dpred = device->alloc({2, 2});
    loss->backward(pred, target, dpred);
    check_close(to_host(*device, dpred), {0.125f, -0.125f, -0.25f, 0.25f});
}

BOOST_AUTO_TEST_CASE(single_row_matches_ln_four_thirds) {
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("softmax_cross_entropy");
    loss->build({1, 2}, *device);
    const auto pred = make_tensor(*device, {1, 2}, {0, std::log(3.0f)});
    const auto target = make_tensor(*device, {1, 2}, {0, 1});
    BOOST_TEST(loss->forward(pred, target) == std::log(4.0 / 3.0),
               boost::test_tools::tolerance(1e-6));  // 0.287682
}

BOOST_AUTO_TEST_CASE(huge_logits_stay_finite) {
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("softmax_cross_entropy");
    loss->build({2, 2}, *device);
    // Row 0 is right with certainty (loss 0); row 1 is wrong by 1000 (loss 1000).
    const auto pred = make_tensor(*device, {2, 2}, {1000, 0, 0, 1000});
    const auto target = make_tensor(*device, {2, 2}, {1, 0, 1, 0});
    const float value = loss->forward(pred, target);
    BOOST_TEST(std::isfinite(value));
    BOOST_TEST(value == 500.0f, boost::test_tools::tolerance(1e-5f));
    const auto dpred = device->alloc({2, 2});
    loss->backward(pred, target, dpred);
    check_close(to_host(*device, dpred), {0, 0, -0.5f, 0.5f});
}

BOOST_AUTO_TEST_CASE(smaller_batches_reuse_the_workspaces) {
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("softmax_cross_entropy");
    loss->build({8, 2}, *device);
    const auto pred = make_tensor(*device, {2, 2}, {0, std::log(3.0f), 0, 0});
    const auto target = make_tensor(*device, {2, 2}, {0, 1, 1, 0});
    const auto dpred = device->alloc({2, 2});
    const auto before = device->counters().allocations;
    const float value = loss->forward(pred, target);
    loss->backward(pred, target, dpred);
    BOOST_TEST(device->counters().allocations == before);
    BOOST_TEST(value == (std::log(4.0 / 3.0) + std::log(2.0)) / 2,
               boost::test_tools::tolerance(1e-6));
    check_close(to_host(*device, dpred), {0.125f, -0.125f, -0.25f, 0.25f});
    // Only the scalar loss comes back to the host.
    device->reset_counters();
    loss->forward(pred, target);
    loss->backward(pred, target, dpred);
    BOOST_TEST(device->counters().d2h_bytes == sizeof(float));
    BOOST_TEST(device->counters().h2d_bytes == 0u);
}

BOOST_AUTO_TEST_CASE(gradient_matches_finite_differences) {
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("softmax_cross_entropy");
    const std::vector<float> target = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0};
    const auto r = plexus::testing::check_loss(*loss, *device, {4, 3}, target);
    BOOST_TEST(r.max_rel_error < 1e-2, "worst " << r.worst);
    BOOST_TEST(r.checked == 12u);
    // Soft targets (label smoothing) are valid too.
    const std::vector<float> soft = {0.8f, 0.1f, 0.1f, 0.1f, 0.8f, 0.1f};
    const auto s = plexus::testing::check_loss(*loss, *device, {2, 3}, soft, {.seed = 3});
    BOOST_TEST(s.max_rel_error < 1e-2, "worst " << s.worst);
}

BOOST_AUTO_TEST_CASE(rejects_shapes_it_cannot_classify) {
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("softmax_cross_entropy");
    BOOST_CHECK_THROW(loss->build({4}, *device), plexus::ShapeError);
    BOOST_CHECK_THROW(loss->build({4, 1}, *device), plexus::ShapeError);
    loss->build({2, 3}, *device);
    const auto pred = device->alloc({4, 3});  // more rows than built for
    BOOST_CHECK_THROW(loss->forward(pred, pred), plexus::ShapeError);
}
