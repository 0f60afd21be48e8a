// The regression metrics against hand-computed values and scikit-learn's (sklearn_reference.py
// made them), streamed in uneven batches on every device this machine has.
#define BOOST_TEST_MODULE regression_metrics
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cfloat>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "layer_devices.hpp"
#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"

using plexus::testing::load;
using plexus::testing::make_tensor;
namespace tt = boost::test_tools;

namespace {

const char* const kNames[] = {"mae", "mse", "rmse", "r2", "mape"};

double value(const plexus::Metric& metric, const std::string& name) {
    const auto values = metric.result();
    BOOST_REQUIRE_EQUAL(values.size(), 1u);
    BOOST_TEST(values[0].first == name);
    return values[0].second;
}

// Builds `name` for the largest batch and feeds rows of `cols` values in batches of the given
// sizes, returning the metric with everything added.
std::shared_ptr<plexus::Metric> stream(plexus::Device& device, const std::string& name,
                                       std::size_t cols, const std::vector<float>& pred,
                                       const std::vector<float>& target,
                                       const std::vector<std::size_t>& batches) {
    auto metric = load<plexus::Metric>(name);
    metric->build({*std::max_element(batches.begin(), batches.end()), cols}, device);
    metric->reset();
    std::size_t begin = 0;
    for (const std::size_t n : batches) {
        const auto slice = [&](const std::vector<float>& v) {
            return std::vector<float>(v.begin() + static_cast<std::ptrdiff_t>(begin * cols),
                                      v.begin() + static_cast<std::ptrdiff_t>((begin + n) * cols));
        };
        metric->update(make_tensor(device, {n, cols}, slice(pred)),
                       make_tensor(device, {n, cols}, slice(target)));
        begin += n;
    }
    BOOST_REQUIRE_EQUAL(begin * cols, pred.size());
    return metric;
}

struct Expected {
    const char* name;
    double value;
};

// From sklearn_reference.py (scikit-learn 1.2.1), two rows of three columns per line:
// clang-format off
const std::vector<float> kTarget = {
    0.375, 0.625, 403.25,   -0.75, 2.75, 395.875,
    0.25, -1.5, 395.125,   1.25, -0.375, 395.125,
    -2.0, 0.0, 395.625,   3.625, 3.875, 395.375,
    -3.75, 3.0, 395.375,   -3.25, 3.125, 402.0,
    0.25, -3.5, 397.125,   2.0, -2.375, 404.625,
    -0.625, 4.875, 398.25,   1.625, -3.125, 396.625,
    4.0, -1.125, 402.625
};
const std::vector<float> kPred = {
    -0.375, -0.875, 404.625,   0.625, 2.125, 397.125,
    0.5, -1.75, 394.875,   2.0, -1.5, 396.25,
    -2.375, 0.0, 396.5,   5.0, 3.625, 396.875,
    -3.25, 3.375, 395.625,   -2.5, 1.75, 400.875,
    1.0, -3.375, 397.625,   1.625, -1.375, 404.625,
    -1.75, 4.125, 399.75,   0.5, -2.0, 395.375,
    5.25, -2.125, 404.125
};
// clang-format on
const Expected kSklearn[] = {
    {"mae", 0.8397435897435898}, {"mse", 0.9246794871794872},  {"rmse", 0.9568974258519546},
    {"r2", 0.8770654411505444},  {"mape", 0.5300230187860614},
};
// r2_score on the constant-column example below, predicted exactly and missed.
constexpr double kSklearnConstantExact = 0.8660714285714286;
constexpr double kSklearnConstantMissed = 0.36607142857142855;

}  // namespace

// scikit-learn's documentation example, worked out by hand. Residuals -0.5, 0.5, 0, 1 over
// targets 3, -0.5, 2, 7 (mean 2.875). Fed as batches of 3 and 1: an average of the two batch
// values would differ from every figure here (mae: (1/3 + 1) / 2 = 0.667).
BOOST_AUTO_TEST_CASE(one_column_matches_hand_computed_values) {
    const std::vector<float> target = {3, -0.5f, 2, 7}, pred = {2.5f, 0, 2, 8};
    const Expected expected[] = {
        {"mae", 0.5},                   // (0.5 + 0.5 + 0 + 1) / 4
        {"mse", 0.375},                 // (0.25 + 0.25 + 0 + 1) / 4
        {"rmse", 0.61237243569579452},  // √0.375
        {"r2", 1.0 - 1.5 / 29.1875},    // SS_tot = 0.125² + 3.375² + 0.875² + 4.125²
        {"mape", 55.0 / 168.0},         // (0.5/3 + 0.5/0.5 + 0/2 + 1/7) / 4
    };
    for (const auto& [name, device] : plexus::test::layer_devices())
        for (const Expected& e : expected) {
            BOOST_TEST_CONTEXT(name << " " << e.name) {
                const auto metric = stream(*device, e.name, 1, pred, target, {3, 1});
                BOOST_TEST(value(*metric, e.name) == e.value, tt::tolerance(1e-6));
            }
        }
}

// 13 rows of 3 columns in batches of 5, 5 and 3: a centred column, one with a zero target
// (mape's epsilon floor, predicted exactly) and one near 400 with a spread of a few units.
BOOST_AUTO_TEST_CASE(several_columns_match_scikit_learn) {
    for (const auto& [name, device] : plexus::test::layer_devices())
        for (const Expected& e : kSklearn) {
            BOOST_TEST_CONTEXT(name << " " << e.name) {
                const auto metric = stream(*device, e.name, 3, kPred, kTarget, {5, 5, 3});
                BOOST_TEST(value(*metric, e.name) == e.value, tt::tolerance(1e-6));
            }
        }
}

// A constant target column has SS_tot = 0: scikit-learn scores it 1 when predicted exactly
// and 0 otherwise, then averages it with the other columns (values from sklearn_reference.py).
BOOST_AUTO_TEST_CASE(r2_of_a_constant_column_follows_scikit_learn) {
    auto device = load<plexus::Device>("cpu");
    const std::vector<float> target = {2, 1, 2, 2, 2, 4};  // column 0 constant
    const std::vector<float> exact = {2, 1.5f, 2, 2, 2, 3};
    const std::vector<float> missed = {2, 1.5f, 2.5f, 2, 2, 3};
    // column 1: SS_res = 0.25 + 0 + 1, SS_tot = (1 - 7/3)² + (2 - 7/3)² + (4 - 7/3)² = 14/3
    const double column1 = 1.0 - 1.25 / (14.0 / 3.0);
    BOOST_TEST(value(*stream(*device, "r2", 2, exact, target, {2, 1}), "r2") == (1.0 + column1) / 2,
               tt::tolerance(1e-6));
    BOOST_TEST(value(*stream(*device, "r2", 2, missed, target, {2, 1}), "r2") == column1 / 2,
               tt::tolerance(1e-6));
    BOOST_TEST(
        value(*stream(*device, "r2", 2, exact, target, {2, 1}), "r2") == kSklearnConstantExact,
        tt::tolerance(1e-6));
    BOOST_TEST(
        value(*stream(*device, "r2", 2, missed, target, {2, 1}), "r2") == kSklearnConstantMissed,
        tt::tolerance(1e-6));
    // One constant column alone: 1 when exact, 0 when missed (the first batch is row 0 only,
    // so the shift is that row and every later row of the column shifts to exactly 0).
    const std::vector<float> t1 = {2, 2, 2}, p1 = {2, 2.5f, 2};
    BOOST_TEST(value(*stream(*device, "r2", 1, t1, t1, {1, 2}), "r2") == 1.0);
    BOOST_TEST(value(*stream(*device, "r2", 1, p1, t1, {1, 2}), "r2") == 0.0);
}

// A zero target with an error counts |p| / eps, eps = 2^-52 (float64's, as scikit-learn):
// a power of two, so the quotient is exact in float too.
BOOST_AUTO_TEST_CASE(mape_floors_a_zero_target_at_machine_epsilon) {
    auto device = load<plexus::Device>("cpu");
    const auto metric = stream(*device, "mape", 1, {0.001f, 3}, {0, 2}, {2});
    BOOST_TEST(value(*metric, "mape") == (static_cast<double>(0.001f) / DBL_EPSILON + 0.5) / 2,
               tt::tolerance(1e-7));
}

// 50,000 rows near 400 with a spread of about 3 (CO2-like) in batches of 64, crossing the
// 4,096-row flush a dozen times, against a two-pass double computation here. Σt² - (Σt)²/n
// in float would lose every digit of SS_tot (t² near 160,000 is rounded by about 0.01 per
// row, the running sum by 1,000 per row at the end, against an SS_tot of about 225,000).
BOOST_AUTO_TEST_CASE(long_streams_with_a_large_mean_keep_their_digits) {
    const std::size_t rows = 50000, cols = 2;
    std::vector<float> target(rows * cols), pred(rows * cols);
    for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t c = 0; c < cols; ++c) {
            const double x = static_cast<double>(i) * 0.37 + static_cast<double>(c);
            target[i * cols + c] = static_cast<float>(400.0 + 3.0 * std::sin(x));
            pred[i * cols + c] =
                static_cast<float>(400.0 + 3.0 * std::sin(x) + 0.5 * std::cos(1.7 * x + 0.3));
        }
    double mae = 0, rmse = 0, r2 = 0;
    for (std::size_t c = 0; c < cols; ++c) {
        double mean = 0, abs_sum = 0, ss_res = 0, ss_tot = 0;
        for (std::size_t i = 0; i < rows; ++i) mean += target[i * cols + c];
        mean /= rows;
        for (std::size_t i = 0; i < rows; ++i) {
            const double t = target[i * cols + c], r = pred[i * cols + c] - t;
            abs_sum += std::fabs(r);
            ss_res += r * r;
            ss_tot += (t - mean) * (t - mean);
        }
        mae += abs_sum / rows / cols;
        rmse += std::sqrt(ss_res / rows) / cols;
        r2 += (1.0 - ss_res / ss_tot) / cols;
    }
    std::vector<std::size_t> batches(rows / 64, 64);
    batches.push_back(rows % 64);
    for (const auto& [name, device] : plexus::test::layer_devices()) {
        BOOST_TEST_CONTEXT(name) {
            BOOST_TEST(value(*stream(*device, "mae", cols, pred, target, batches), "mae") == mae,
                       tt::tolerance(1e-6));
            BOOST_TEST(value(*stream(*device, "rmse", cols, pred, target, batches), "rmse") == rmse,
                       tt::tolerance(1e-6));
            BOOST_TEST(value(*stream(*device, "r2", cols, pred, target, batches), "r2") == r2,
                       tt::tolerance(1e-6));
        }
    }
}

// An update queues device work only; reading a result brings the [5, cols] sums over once.
BOOST_AUTO_TEST_CASE(updates_allocate_and_transfer_nothing_until_a_result_is_read) {
    auto device = load<plexus::Device>("cpu");
    for (const char* name : kNames) {
        BOOST_TEST_CONTEXT(name) {
            auto metric = load<plexus::Metric>(name);
            metric->build({4, 3}, *device);
            metric->reset();
            const auto pred = make_tensor(*device, {4, 3}, std::vector<float>(12, 1.5f));
            const auto target = make_tensor(*device, {4, 3}, std::vector<float>(12, 1.0f));
            device->reset_counters();
            for (int i = 0; i < 10; ++i) metric->update(pred, target);
            metric->update(pred.rows(0, 2), target.rows(0, 2));
            BOOST_TEST(device->counters().allocations == 0u);
            BOOST_TEST(device->counters().h2d_bytes == 0u);
            BOOST_TEST(device->counters().d2h_bytes == 0u);
            metric->result();
            metric->result();
            BOOST_TEST(device->counters().d2h_bytes == 5 * 3 * sizeof(float));
            BOOST_TEST(device->counters().allocations == 0u);
        }
    }
}

BOOST_AUTO_TEST_CASE(reset_forgets_and_an_empty_stream_reads_zero) {
    auto device = load<plexus::Device>("cpu");
    for (const char* name : kNames) {
        BOOST_TEST_CONTEXT(name) {
            auto metric = load<plexus::Metric>(name);
            metric->build({2, 1}, *device);
            metric->reset();
            BOOST_TEST(value(*metric, name) == 0.0);
            metric->update(make_tensor(*device, {2, 1}, {9, -9}),
                           make_tensor(*device, {2, 1}, {1, 2}));
            BOOST_TEST(value(*metric, name) != 0.0);
            metric->reset();
            BOOST_TEST(value(*metric, name) == 0.0);
            // After a reset the stream starts over: one row of error 0.5 on target 2, and a
            // second of error 0 on target 4 (mean 3, SS_tot 2).
            metric->update(make_tensor(*device, {2, 1}, {2.5f, 4}),
                           make_tensor(*device, {2, 1}, {2, 4}));
            const double expected = std::string(name) == "mae"    ? 0.25
                                    : std::string(name) == "mse"  ? 0.125
                                    : std::string(name) == "rmse" ? std::sqrt(0.125)
                                    : std::string(name) == "r2"   ? 1.0 - 0.25 / 2.0
                                                                  : 0.125;  // (0.25 + 0) / 2
            BOOST_TEST(value(*metric, name) == expected, tt::tolerance(1e-7));
        }
    }
}

BOOST_AUTO_TEST_CASE(accept_float_targets_only) {
    for (const char* name : kNames) {
        BOOST_TEST_CONTEXT(name) {
            auto metric = load<plexus::Metric>(name);
            BOOST_TEST(metric->accepts(plexus::TargetKind::values));
            BOOST_TEST(!metric->accepts(plexus::TargetKind::classes));
        }
    }
}

BOOST_AUTO_TEST_CASE(reject_mismatched_shapes_naming_the_metric) {
    auto device = load<plexus::Device>("cpu");
    for (const char* name : kNames) {
        BOOST_TEST_CONTEXT(name) {
            const auto names_it = [&](const plexus::ShapeError& e) {
                return std::string(e.what()).starts_with(std::string(name) + ": ");
            };
            auto metric = load<plexus::Metric>(name);
            const auto pred = device->alloc({2, 3});
            BOOST_CHECK_EXCEPTION(metric->update(pred, pred), plexus::ShapeError, names_it);
            BOOST_CHECK_EXCEPTION(metric->build({0, 3}, *device), plexus::ShapeError, names_it);
            metric->build({2, 3}, *device);
            BOOST_CHECK_EXCEPTION(metric->update(pred, device->alloc({2, 2})), plexus::ShapeError,
                                  names_it);
            BOOST_CHECK_EXCEPTION(metric->update(device->alloc({3, 3}), device->alloc({3, 3})),
                                  plexus::ShapeError, names_it);
            BOOST_CHECK_EXCEPTION(metric->update(device->alloc({2, 2}), device->alloc({2, 2})),
                                  plexus::ShapeError, names_it);
        }
    }
}
