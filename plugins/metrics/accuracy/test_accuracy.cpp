#define BOOST_TEST_MODULE accuracy
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"

using plexus::testing::load;
using plexus::testing::make_tensor;

namespace {

double accuracy(const plexus::Metric& metric) {
    const auto values = metric.result();
    BOOST_REQUIRE_EQUAL(values.size(), 1u);
    BOOST_TEST(values[0].first == "accuracy");
    return values[0].second;
}

}  // namespace

BOOST_AUTO_TEST_CASE(streams_counts_across_batches) {
    auto device = load<plexus::Device>("cpu");
    auto metric = load<plexus::Metric>("accuracy");
    metric->build({3, 3}, *device);
    metric->reset();
    BOOST_TEST(accuracy(*metric) == 0.0);  // nothing seen yet

    // Batch 1: predicted classes 0, 2, 1; target classes 0, 1, 1 -> 2 of 3 correct.
    const auto pred1 = make_tensor(*device, {3, 3}, {0.9f, 0.05f, 0.05f,  //
                                                     0.1f, 0.2f, 0.7f,    //
                                                     0.3f, 0.6f, 0.1f});
    const auto target1 = make_tensor(*device, {3, 3}, {1, 0, 0, 0, 1, 0, 0, 1, 0});
    metric->update(pred1, target1);
    BOOST_TEST(accuracy(*metric) == 2.0 / 3.0, boost::test_tools::tolerance(1e-12));

    // Batch 2, smaller than built for: row 0 ties between 0 and 1 -> 0 (first maximum),
    // target 0; row 1 predicts 2 with raw scores, target 0 -> 1 of 2 correct.
    const auto pred2 = make_tensor(*device, {2, 3}, {5, 5, -1, -3, -2, -1});
    const auto target2 = make_tensor(*device, {2, 3}, {1, 0, 0, 1, 0, 0});
    metric->update(pred2, target2);
    BOOST_TEST(accuracy(*metric) == 3.0 / 5.0, boost::test_tools::tolerance(1e-12));

    metric->reset();
    BOOST_TEST(accuracy(*metric) == 0.0);
    metric->update(pred2, target2);
    BOOST_TEST(accuracy(*metric) == 0.5, boost::test_tools::tolerance(1e-12));
}

// Updates keep the count on the device; reading the result brings it over once.
BOOST_AUTO_TEST_CASE(updates_allocate_and_download_nothing_and_the_result_one_scalar) {
    auto device = load<plexus::Device>("cpu");
    auto metric = load<plexus::Metric>("accuracy");
    metric->build({4, 2}, *device);
    metric->reset();
    const auto pred = make_tensor(*device, {4, 2}, {1, 0, 0, 1, 1, 0, 0, 1});
    const auto target = make_tensor(*device, {4, 2}, {1, 0, 0, 1, 0, 1, 0, 1});
    device->reset_counters();
    const auto before = device->counters().allocations;
    metric->update(pred, target);
    metric->update(pred.rows(0, 2), target.rows(0, 2));
    BOOST_TEST(device->counters().allocations == before);
    BOOST_TEST(device->counters().d2h_bytes == 0u);
    BOOST_TEST(accuracy(*metric) == 5.0 / 6, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(device->counters().d2h_bytes == sizeof(float));
    BOOST_TEST(accuracy(*metric) == 5.0 / 6, boost::test_tools::tolerance(1e-12));  // read twice,
    BOOST_TEST(device->counters().d2h_bytes == sizeof(float));                      // fetched once
    metric->update(pred.rows(2, 2), target.rows(2, 2));  // counts go on after a read: 6 of 8
    BOOST_TEST(accuracy(*metric) == 6.0 / 8, boost::test_tools::tolerance(1e-12));
    metric->update(pred, target);  // counted on the device, never read, then dropped:
    metric->reset();
    metric->update(pred.rows(0, 1), target.rows(0, 1));  // counting starts from zero
    BOOST_TEST(accuracy(*metric) == 1.0, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(rejects_shapes_it_cannot_score) {
    auto device = load<plexus::Device>("cpu");
    auto metric = load<plexus::Metric>("accuracy");
    BOOST_CHECK_THROW(metric->build({4}, *device), plexus::ShapeError);
    metric->build({2, 3}, *device);
    const auto pred = device->alloc({3, 3});
    BOOST_CHECK_THROW(metric->update(pred, pred), plexus::ShapeError);
}

BOOST_AUTO_TEST_CASE(one_logit_column_is_binary_accuracy) {
    auto device = load<plexus::Device>("cpu");
    auto metric = load<plexus::Metric>("accuracy");
    metric->build({4, 1}, *device);
    metric->reset();
    // Logits 2.0, -1.0, 0.0, -3.0 predict 1, 0, 0 (0 is not > 0), 0; targets 1, 1, 0, 0:
    // rows 0, 2 and 3 are right -> 3/4.
    metric->update(make_tensor(*device, {4, 1}, {2.0f, -1.0f, 0.0f, -3.0f}),
                   make_tensor(*device, {4, 1}, {1, 1, 0, 0}));
    BOOST_TEST(accuracy(*metric) == 0.75, boost::test_tools::tolerance(1e-12));
}
