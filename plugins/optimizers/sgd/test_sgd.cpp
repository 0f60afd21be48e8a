#define BOOST_TEST_MODULE sgd
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

BOOST_AUTO_TEST_CASE(one_step_matches_hand_computed_values) {
    auto device = load<plexus::Device>("cpu");
    auto sgd = load<plexus::Optimizer>("sgd lr=0.5");
    BOOST_TEST(sgd->learning_rate() == 0.5f);

    plexus::Parameter w{"kernel", make_tensor(*device, {3}, {1, 2, -3}),
                        make_tensor(*device, {3}, {0.2f, -0.4f, 1})};
    plexus::Parameter frozen{"bias", make_tensor(*device, {2}, {7, 8}),
                             make_tensor(*device, {2}, {1, 1})};
    frozen.trainable = false;
    std::vector<plexus::Parameter*> params = {&w, &frozen};
    sgd->build(params, *device);

    const auto before = device->counters().allocations;
    sgd->step(params, 0.5f);
    BOOST_TEST(device->counters().allocations == before);
    // 1 - 0.5 * 0.2, 2 - 0.5 * (-0.4), -3 - 0.5 * 1
    check_close(to_host(*device, w.value), {0.9f, 2.2f, -3.5f});
    check_close(to_host(*device, frozen.value), {7, 8});

    // The rate passed to step() wins over the configured one (schedules change it).
    sgd->step(params, 0.25f);
    check_close(to_host(*device, w.value), {0.85f, 2.3f, -3.75f});
    BOOST_TEST(sgd->learning_rate() == 0.5f);
}

BOOST_AUTO_TEST_CASE(learning_rate_default_and_range) {
    BOOST_TEST(load<plexus::Optimizer>("sgd")->learning_rate() == 0.01f);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("sgd lr=0"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("sgd lr=-1"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Optimizer>("sgd momentum=0.9"), plexus::ParamError);
}
