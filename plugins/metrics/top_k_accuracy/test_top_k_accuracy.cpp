#define BOOST_TEST_MODULE top_k_accuracy
#include <boost/test/unit_test.hpp>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"

using plexus::testing::load;
using plexus::testing::make_tensor;
namespace tt = boost::test_tools;

namespace {

// Six rows of four scores, with the target class and how many classes score strictly higher:
//   [0.1, 0.5, 0.3, 0.1]   target 2   higher: 0.5             -> 1
//   [0.4, 0.3, 0.2, 0.1]   target 3   higher: 0.4, 0.3, 0.2   -> 3
//   [0.3, 0.3, 0.3, 0.1]   target 2   ties with 0 and 1       -> 0
//   [0.5, 0.2, 0.2, 0.1]   target 1   higher: 0.5 (tie not)   -> 1
//   [0.4, 0.4, 0.1, 0.1]   target 3   higher: 0.4, 0.4        -> 2
//   [-3, -1, -2, -5]       target 0   higher: -1, -2          -> 2
// A row is correct when that count is < k: k=1 -> 1/6, k=2 -> 3/6, k=3 -> 5/6, k=4 -> 6/6.
const std::vector<float> kScores = {0.1f, 0.5f, 0.3f, 0.1f, 0.4f, 0.3f, 0.2f, 0.1f,
                                    0.3f, 0.3f, 0.3f, 0.1f, 0.5f, 0.2f, 0.2f, 0.1f,
                                    0.4f, 0.4f, 0.1f, 0.1f, -3.f, -1.f, -2.f, -5.f};
const std::vector<float> kTargets = {0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0,
                                     0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0};

// The metric's single value, checking its name.
double result(const plexus::Metric& metric, const std::string& name = "top_k_accuracy") {
    const plexus::MetricValues values = metric.result();
    BOOST_REQUIRE(values.size() == 1 && values.front().first == name);
    return values.front().second;
}

// Feeds the six rows in two uneven batches (4 + 2) to a metric built for 4 rows.
double score_rows(plexus::Device& device, const std::string& spec) {
    auto metric = load<plexus::Metric>(spec);
    metric->build({4, 4}, device);
    metric->reset();
    const auto& s = kScores;
    const auto& t = kTargets;
    metric->update(make_tensor(device, {4, 4}, {s.begin(), s.begin() + 16}),
                   make_tensor(device, {4, 4}, {t.begin(), t.begin() + 16}));
    metric->update(make_tensor(device, {2, 4}, {s.begin() + 16, s.end()}),
                   make_tensor(device, {2, 4}, {t.begin() + 16, t.end()}));
    return result(*metric);
}

}  // namespace

BOOST_AUTO_TEST_CASE(ties_count_for_the_target) {
    auto device = load<plexus::Device>("cpu");
    BOOST_TEST(score_rows(*device, "top_k_accuracy k=1") == 1.0 / 6, tt::tolerance(1e-12));
    BOOST_TEST(score_rows(*device, "top_k_accuracy k=2") == 3.0 / 6, tt::tolerance(1e-12));
    BOOST_TEST(score_rows(*device, "top_k_accuracy k=3") == 5.0 / 6, tt::tolerance(1e-12));
    BOOST_TEST(score_rows(*device, "top_k_accuracy k=4") == 1.0);
    BOOST_TEST(score_rows(*device, "top_k_accuracy k=9") == 1.0);  // k above the classes
}

BOOST_AUTO_TEST_CASE(k1_is_accuracy_without_ties) {
    auto device = load<plexus::Device>("cpu");
    // Arg-maxes 1, 0, 2, 0, 1 against targets 1, 2, 2, 1, 1: rows 0, 2 and 4 right -> 3/5.
    const auto pred = make_tensor(*device, {5, 3},
                                  {0.2f, 0.7f, 0.1f, 0.6f, 0.3f, 0.1f,  //
                                   0.1f, 0.2f, 0.7f, 0.5f, 0.4f, 0.1f,  //
                                   -1.f, 2.f, 0.5f});
    const auto target = make_tensor(*device, {5, 3}, {0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0});
    auto top1 = load<plexus::Metric>("top_k_accuracy k=1");
    auto accuracy = load<plexus::Metric>("accuracy");
    for (auto* m : {top1.get(), accuracy.get()}) {
        m->build({5, 3}, *device);
        m->reset();
        m->update(pred, target);
    }
    BOOST_TEST(result(*top1) == 0.6, tt::tolerance(1e-12));
    BOOST_TEST(result(*accuracy, "accuracy") == result(*top1));
}

BOOST_AUTO_TEST_CASE(defaults_to_top5_and_resets) {
    auto device = load<plexus::Device>("cpu");
    auto metric = load<plexus::Metric>("top_k_accuracy");
    metric->build({2, 7}, *device);
    metric->reset();
    BOOST_TEST(result(*metric) == 0.0);  // nothing seen yet
    // Row 0: the target (class 6) has the lowest score, 6 classes above it -> wrong at k=5.
    // Row 1: the target (class 0) has 5 classes above it -> wrong; 4 above would be right.
    const auto pred = make_tensor(*device, {2, 7},
                                  {7, 6, 5, 4, 3, 2, 1,  //
                                   3, 9, 8, 7, 6, 5, 1});
    const auto target = make_tensor(*device, {2, 7},
                                    {0, 0, 0, 0, 0, 0, 1,  //
                                     1, 0, 0, 0, 0, 0, 0});
    metric->update(pred, target);
    BOOST_TEST(result(*metric) == 0.0);
    metric->reset();
    const auto better = make_tensor(*device, {1, 7}, {3, 9, 8, 7, 6, 2, 1});
    metric->update(better, target.rows(1, 1));
    BOOST_TEST(result(*metric) == 1.0);
}

// Updates keep the misses on the device; reading the result brings them over once.
BOOST_AUTO_TEST_CASE(updates_allocate_and_download_nothing_and_the_result_one_scalar) {
    auto device = load<plexus::Device>("cpu");
    auto metric = load<plexus::Metric>("top_k_accuracy k=2");
    metric->build({4, 4}, *device);
    metric->reset();
    const auto pred = make_tensor(*device, {4, 4}, {kScores.begin(), kScores.begin() + 16});
    const auto target = make_tensor(*device, {4, 4}, {kTargets.begin(), kTargets.begin() + 16});
    device->reset_counters();
    metric->update(pred, target);
    BOOST_TEST(device->counters().allocations == 0u);
    BOOST_TEST(device->counters().d2h_bytes == 0u);
    BOOST_TEST(result(*metric) == 0.75);  // rows 0, 2, 3 of the tie table
    BOOST_TEST(device->counters().d2h_bytes == sizeof(float));
    metric->update(pred.rows(1, 1), target.rows(1, 1));  // row 1 misses: 3 of 5
    BOOST_TEST(result(*metric) == 0.6, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(rejects_bad_k_and_shapes) {
    auto device = load<plexus::Device>("cpu");
    BOOST_CHECK_THROW(load<plexus::Metric>("top_k_accuracy k=0"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Metric>("top_k_accuracy k=-2"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Metric>("top_k_accuracy k=two"), plexus::ParamError);
    auto top1 = load<plexus::Metric>("top_k_accuracy k=1");
    const auto scores = device->alloc({6, 4});
    BOOST_CHECK_THROW(top1->update(scores, scores), plexus::ShapeError);  // before build()
    BOOST_CHECK_THROW(top1->build({6, 1}, *device), plexus::ShapeError);  // one logit column
    top1->build({5, 4}, *device);
    BOOST_CHECK_THROW(top1->update(scores, scores), plexus::ShapeError);             // 6 rows > 5
    BOOST_CHECK_THROW(top1->update(scores.rows(0, 2), scores), plexus::ShapeError);  // target
}

// Issue 18: k=20 on 10 classes reported a perfect score without a word.
BOOST_AUTO_TEST_CASE(k_at_or_above_the_classes_warns_once) {
    auto device = load<plexus::Device>("cpu");
    std::ostringstream err;
    std::streambuf* old = std::cerr.rdbuf(err.rdbuf());
    auto metric = load<plexus::Metric>("top_k_accuracy k=20");
    metric->build({4, 10}, *device);
    metric->build({4, 10}, *device);
    auto fine = load<plexus::Metric>("top_k_accuracy k=9");
    fine->build({4, 10}, *device);
    std::cerr.rdbuf(old);
    BOOST_TEST(err.str() ==
               "warning: top_k_accuracy k=20 on 10 classes is always 1 (used as k=10): choose k "
               "below 10\n");
    // It scores as k = classes: every row is a hit.
    BOOST_TEST(score_rows(*device, "top_k_accuracy k=20") == 1.0);
}
