// Every test runs on each loss of the library; what differs between them is in kCases,
// worked out by hand from the definitions. huber is also compared with PyTorch's HuberLoss
// (torch_reference.py made the values).
#define BOOST_TEST_MODULE regression
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


// pred - target = {1, 0, -2, 0.5}
const std::vector<float> kPred = {1, 2, 3, 4};
const std::vector<float> kTarget = {0, 2, 5, 3.5f};

struct Case {
    const char* name;
    double loss;               // forward on kPred, kTarget as [2, 2]
    std::vector<float> dpred;  // backward on the same
    double large_error_loss;   // forward on pred {1000, -1000}, target {-1000, -1000}
};

const Case kCases[] = {
    {.name = "mse",
     .loss = 1.3125,                 // (1² + 0² + 2² + 0.5²) / 4 = 5.25 / 4
     .dpred = {0.5f, 0, -1, 0.25f},  // 2 (p - t) / 4 = (p - t) / 2
     .large_error_loss = 2e6},       // (2000² + 0²) / 2
    {.name = "mae",
     .loss = 0.875,                       // (|1| + |0| + |-2| + |0.5|) / 4 = 3.5 / 4
     .dpred = {0.25f, 0, -0.25f, 0.25f},  // sign(p - t) / 4, with sign(0) = 0 at the kink
     .large_error_loss = 1000.0},         // (2000 + 0) / 2
    {.name = "huber",                     // delta = 1: 0.5 r² for |r| <= 1, |r| - 0.5 beyond
     .loss = 0.53125,                     // (0.5 + 0 + 1.5 + 0.125) / 4 = 2.125 / 4
     .dpred = {0.25f, 0, -0.25f, 0.125f},  // clamp(p - t, -1, 1) / 4
     .large_error_loss = 999.75},         // (2000 - 0.5 + 0) / 2
};

}  // namespace

BOOST_AUTO_TEST_CASE(forward_and_backward_match_hand_computed_values) {
    for (const Case& c : kCases) {
        BOOST_TEST_CONTEXT(c.name) {
            auto device = load<plexus::Device>("cpu");
            auto loss = load<plexus::Loss>(c.name);
            loss->build({2, 2}, *device);
            const auto pred = make_tensor(*device, {2, 2}, kPred);
            const auto target = make_tensor(*device, {2, 2}, kTarget);
            BOOST_TEST(loss->forward(pred, target) == c.loss, boost::test_tools::tolerance(1e-6));
            const auto dpred = device->alloc({2, 2});
            loss->backward(pred, target, dpred);
            check_close(to_host(*device, dpred), c.dpred);
        }
    }
}

BOOST_AUTO_TEST_CASE(smaller_batches_match_an_exact_build_without_allocating) {
    for (const Case& c : kCases) {
        BOOST_TEST_CONTEXT(c.name) {
            auto device = load<plexus::Device>("cpu");
            auto exact = load<plexus::Loss>(c.name);
            auto larger = load<plexus::Loss>(c.name);
            exact->build({2, 2}, *device);
            larger->build({8, 2}, *device);
            const auto pred = make_tensor(*device, {2, 2}, kPred);
            const auto target = make_tensor(*device, {2, 2}, kTarget);
            const auto d_exact = device->alloc({2, 2});
            const auto d_larger = device->alloc({2, 2});
            exact->backward(pred, target, d_exact);
            device->reset_counters();
            BOOST_TEST(larger->forward(pred, target) == exact->forward(pred, target));
            larger->backward(pred, target, d_larger);
            BOOST_TEST(device->counters().allocations == 0u);
            BOOST_TEST(device->counters().h2d_bytes == 0u);
            BOOST_TEST(device->counters().d2h_bytes == 2 * sizeof(float));  // the two losses
            check_close(to_host(*device, d_larger), to_host(*device, d_exact));
        }
    }
}

BOOST_AUTO_TEST_CASE(large_errors_stay_finite) {
    for (const Case& c : kCases) {
        BOOST_TEST_CONTEXT(c.name) {
            auto device = load<plexus::Device>("cpu");
            auto loss = load<plexus::Loss>(c.name);
            loss->build({2, 1}, *device);
            const auto pred = make_tensor(*device, {2, 1}, {1000, -1000});
            const auto target = make_tensor(*device, {2, 1}, {-1000, -1000});
            BOOST_TEST(loss->forward(pred, target) == c.large_error_loss,
                       boost::test_tools::tolerance(1e-6));
        }
    }
}

BOOST_AUTO_TEST_CASE(gradient_matches_finite_differences) {
    const std::vector<float> target = {0.5f, -1, 0, 1.5f, -0.25f, 2, 0, 1, -2, 0.75f, 0.1f, -0.6f};
    for (const Case& c : kCases) {
        BOOST_TEST_CONTEXT(c.name) {
            auto device = load<plexus::Device>("cpu");
            auto loss = load<plexus::Loss>(c.name);
            const auto r = plexus::testing::check_loss(*loss, *device, {4, 3}, target);
            BOOST_TEST(r.max_rel_error < 1e-2, "worst " << r.worst);
            BOOST_TEST(r.checked == 12u);
        }
    }
}

BOOST_AUTO_TEST_CASE(rejects_mismatched_shapes) {
    for (const Case& c : kCases) {
        BOOST_TEST_CONTEXT(c.name) {
            const std::string prefix = std::string(c.name) + ": ";
            const auto names_the_loss = [&](const plexus::ShapeError& e) {
                return std::string(e.what()).starts_with(prefix);
            };
            auto device = load<plexus::Device>("cpu");
            auto loss = load<plexus::Loss>(c.name);
            const auto pred = device->alloc({2, 3});
            BOOST_CHECK_EXCEPTION(loss->forward(pred, pred), plexus::ShapeError,
                                  names_the_loss);  // before build()
            BOOST_CHECK_EXCEPTION(loss->build({0, 3}, *device), plexus::ShapeError, names_the_loss);
            loss->build({2, 3}, *device);
            BOOST_CHECK_EXCEPTION(loss->forward(pred, device->alloc({2, 2})), plexus::ShapeError,
                                  names_the_loss);
            BOOST_CHECK_EXCEPTION(loss->forward(device->alloc({3, 3}), device->alloc({3, 3})),
                                  plexus::ShapeError, names_the_loss);
        }
    }
}

// nn.HuberLoss(delta) on [3, 4] predictions whose residuals fall below, on and above each
// delta; values from torch_reference.py (PyTorch 1.13, float64).
BOOST_AUTO_TEST_CASE(huber_matches_pytorch) {
    const std::vector<float> pred = {1.5f, -0.25f, 3, 0, 2, -4, 0.5f, 1, -1, 0.75f, 2.5f, -2};
    const std::vector<float> target = {0, 0.25f, -0.5f, 0, 2.5f, 1, 0.5f, -1.5f, -3, 0.75f, 0, -1.5f};
    constexpr double k = 1.0 / 24, k2 = 1.0 / 12;  // the gradients are multiples of 1/24
    const struct {
        const char* spec;
        double loss;
        std::vector<double> dpred;
    } cases[] = {
        {"huber", 1.1979166666666667, {k2, -k, k2, 0, -k, -k2, 0, k2, k2, 0, k2, -k}},
        {"huber delta=0.5", 0.6770833333333334, {k, -k, k, 0, -k, -k, 0, k, k, 0, k, -k}},
        {"huber delta=2.5", 2.0625,
         {0.125, -k, 0.20833333333333331, 0, -k, -0.20833333333333331, 0, 0.20833333333333331,
          0.16666666666666666, 0, 0.20833333333333331, -k}},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.spec) {
            auto device = load<plexus::Device>("cpu");
            auto loss = load<plexus::Loss>(c.spec);
            loss->build({3, 4}, *device);
            const auto p = make_tensor(*device, {3, 4}, pred);
            const auto t = make_tensor(*device, {3, 4}, target);
            BOOST_TEST(loss->forward(p, t) == c.loss, boost::test_tools::tolerance(1e-6));
            const auto dpred = device->alloc({3, 4});
            loss->backward(p, t, dpred);
            check_close(to_host(*device, dpred),
                        std::vector<float>(c.dpred.begin(), c.dpred.end()));
        }
    }
}

BOOST_AUTO_TEST_CASE(huber_gradient_matches_finite_differences_for_a_small_delta) {
    // Predictions are drawn from [-2, 2], so with delta 0.5 most residuals are in the linear
    // part and some in the quadratic one.
    const std::vector<float> target = {0.5f, -1, 0, 1.5f, -0.25f, 2, 0, 1, -2, 0.75f, 0.1f, -0.6f};
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("huber delta=0.5");
    const auto r = plexus::testing::check_loss(*loss, *device, {4, 3}, target);
    BOOST_TEST(r.max_rel_error < 1e-2, "worst " << r.worst);
    BOOST_TEST(r.checked == 12u);
}

BOOST_AUTO_TEST_CASE(huber_delta_must_be_positive) {
    BOOST_CHECK_THROW(load<plexus::Loss>("huber delta=0"), std::exception);
    BOOST_CHECK_THROW(load<plexus::Loss>("huber delta=-1"), std::exception);
}
