#define BOOST_TEST_MODULE binary_cross_entropy
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"
#define PLEXUS_CHECK_CLOSE_TOLERANCE 1e-6f
#include "check_close.hpp"

using plexus::testing::load;
using plexus::testing::make_tensor;
using plexus::testing::to_host;

using plexus::test::check_close;

namespace {


const double kLn2 = std::log(2.0);

}  // namespace

BOOST_AUTO_TEST_CASE(one_output_matches_hand_computed_values) {
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("binary_cross_entropy");
    loss->build({2, 1}, *device);
    // Row 0: x = 0, t = 1: -log σ(0) = ln 2. Row 1: x = ln 3, t = 0: -log(1 - 3/4) = ln 4.
    const auto pred = make_tensor(*device, {2, 1}, {0, std::log(3.0f)});
    const auto target = make_tensor(*device, {2, 1}, {1, 0});
    BOOST_TEST(loss->forward(pred, target) == (kLn2 + 2 * kLn2) / 2,
               boost::test_tools::tolerance(1e-6));  // 1.039721
    // (σ(x) - t) / 2: (1/2 - 1) / 2, (3/4 - 0) / 2
    const auto dpred = device->alloc({2, 1});
    loss->backward(pred, target, dpred);
    check_close(to_host(*device, dpred), {-0.25f, 0.375f});
}

BOOST_AUTO_TEST_CASE(pos_weight_scales_the_positive_term_only) {
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("binary_cross_entropy pos_weight=3");
    loss->build({2, 1}, *device);
    const auto pred = make_tensor(*device, {2, 1}, {0, std::log(3.0f)});
    const auto target = make_tensor(*device, {2, 1}, {1, 0});
    // Row 0 (positive): 3 · ln 2. Row 1 (negative, unchanged): ln 4 = 2 ln 2.
    BOOST_TEST(loss->forward(pred, target) == (3 * kLn2 + 2 * kLn2) / 2,
               boost::test_tools::tolerance(1e-6));  // 1.732868
    // (σ(x)·(1 + (pw-1)·t) - pw·t) / 2: row 0 (1/2·3 - 3) / 2, row 1 (3/4·1 - 0) / 2
    const auto dpred = device->alloc({2, 1});
    loss->backward(pred, target, dpred);
    check_close(to_host(*device, dpred), {-0.75f, 0.375f});
}

BOOST_AUTO_TEST_CASE(multi_label_averages_over_every_element) {
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("binary_cross_entropy");
    loss->build({2, 2}, *device);
    const auto pred = make_tensor(*device, {2, 2}, {0, std::log(3.0f), -std::log(3.0f), 0});
    const auto target = make_tensor(*device, {2, 2}, {1, 0, 0, 1});
    // ln 2 (x=0,t=1) + ln 4 (x=ln 3,t=0) + ln(1 + 1/3) (x=-ln 3,t=0) + ln 2 (x=0,t=1), / 4
    const double want = (kLn2 + 2 * kLn2 + std::log(4.0 / 3.0) + kLn2) / 4;  // 0.765078
    BOOST_TEST(loss->forward(pred, target) == want, boost::test_tools::tolerance(1e-6));
    // (σ(x) - t) / 4 with σ = 1/2, 3/4, 1/4, 1/2
    const auto dpred = device->alloc({2, 2});
    loss->backward(pred, target, dpred);
    check_close(to_host(*device, dpred), {-0.125f, 0.1875f, 0.0625f, -0.125f});
}

BOOST_AUTO_TEST_CASE(huge_logits_stay_finite) {
    auto device = load<plexus::Device>("cpu");
    for (const char* spec : {"binary_cross_entropy", "binary_cross_entropy pos_weight=2"}) {
        BOOST_TEST_CONTEXT(spec) {
            auto loss = load<plexus::Loss>(spec);
            loss->build({2, 2}, *device);
            // Right with certainty twice (loss 0), wrong by 1000 twice (loss 1000, the positive
            // one times pos_weight).
            const auto pred = make_tensor(*device, {2, 2}, {1000, -1000, 1000, -1000});
            const auto target = make_tensor(*device, {2, 2}, {1, 0, 0, 1});
            const double pw = std::string(spec).find('=') == std::string::npos ? 1.0 : 2.0;
            const float value = loss->forward(pred, target);
            BOOST_TEST(std::isfinite(value));
            BOOST_TEST(value == (0 + 0 + 1000 + pw * 1000) / 4, boost::test_tools::tolerance(1e-6));
            // (σ(x)·(1 + (pw-1)·t) - pw·t) / 4 with σ = 1, 0, 1, 0
            const auto dpred = device->alloc({2, 2});
            loss->backward(pred, target, dpred);
            check_close(to_host(*device, dpred), {0, 0, 0.25f, static_cast<float>(-pw / 4)});
        }
    }
}

BOOST_AUTO_TEST_CASE(smaller_batches_match_an_exact_build_without_allocating) {
    auto device = load<plexus::Device>("cpu");
    auto exact = load<plexus::Loss>("binary_cross_entropy pos_weight=0.5");
    auto larger = load<plexus::Loss>("binary_cross_entropy pos_weight=0.5");
    exact->build({2, 3}, *device);
    larger->build({16, 3}, *device);
    const auto pred = make_tensor(*device, {2, 3}, {0.5f, -1, 2, 0, 3, -0.25f});
    const auto target = make_tensor(*device, {2, 3}, {1, 0, 1, 0, 1, 1});
    const auto d_exact = device->alloc({2, 3});
    const auto d_larger = device->alloc({2, 3});
    exact->backward(pred, target, d_exact);
    device->reset_counters();
    BOOST_TEST(larger->forward(pred, target) == exact->forward(pred, target));
    larger->backward(pred, target, d_larger);
    BOOST_TEST(device->counters().allocations == 0u);
    BOOST_TEST(device->counters().h2d_bytes == 0u);
    BOOST_TEST(device->counters().d2h_bytes == 2 * sizeof(float));  // the two scalar losses
    check_close(to_host(*device, d_larger), to_host(*device, d_exact));
}

BOOST_AUTO_TEST_CASE(gradient_matches_finite_differences) {
    auto device = load<plexus::Device>("cpu");
    const std::vector<float> target = {1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0};
    const std::vector<float> soft = {0.9f, 0.1f, 0.3f, 0.5f, 0.0f, 1.0f};
    for (const char* spec : {"binary_cross_entropy", "binary_cross_entropy pos_weight=2.5",
                             "binary_cross_entropy pos_weight=0.3"}) {
        BOOST_TEST_CONTEXT(spec) {
            auto loss = load<plexus::Loss>(spec);
            const auto r = plexus::testing::check_loss(*loss, *device, {4, 3}, target);
            BOOST_TEST(r.max_rel_error < 1e-2, "worst " << r.worst);
            BOOST_TEST(r.checked == 12u);
            const auto one =
                plexus::testing::check_loss(*loss, *device, {4, 1}, {1, 0, 0, 1}, {.seed = 5});
            BOOST_TEST(one.max_rel_error < 1e-2, "worst " << one.worst);
            const auto s = plexus::testing::check_loss(*loss, *device, {2, 3}, soft, {.seed = 3});
            BOOST_TEST(s.max_rel_error < 1e-2, "worst " << s.worst);
        }
    }
}

BOOST_AUTO_TEST_CASE(rejects_bad_pos_weight_and_shapes) {
    auto device = load<plexus::Device>("cpu");
    BOOST_CHECK_THROW(load<plexus::Loss>("binary_cross_entropy pos_weight=0"), plexus::Error);
    BOOST_CHECK_THROW(load<plexus::Loss>("binary_cross_entropy pos_weight=-1"), plexus::Error);
    auto loss = load<plexus::Loss>("binary_cross_entropy");
    loss->build({2, 1}, *device);
    const auto pred = device->alloc({2, 1});
    BOOST_CHECK_THROW(loss->forward(pred, device->alloc({2, 2})), plexus::ShapeError);
    BOOST_CHECK_THROW(loss->forward(device->alloc({2, 2}), device->alloc({2, 2})),
                      plexus::ShapeError);
}
