// random: draws stay inside bounds, on integer and step lattices, uniform in log for log
// scales, and depend on (seed, trial number) only.
#define BOOST_TEST_MODULE random
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <map>
#include <vector>

#include "plexus/testing.hpp"
#include "plexus/testing/samplers.hpp"

namespace pt = plexus::testing;

namespace {

const plexus::SearchSpace kSpace = {
    pt::uniform("x", -2, 3),         pt::log_uniform("lr", 1e-4, 1e-1),
    pt::integer("units", 8, 20, 4),  pt::integer("batch", 1, 1000, 1, true),
    pt::uniform("rate", 0, 1, 0.25), pt::choice("act", {"relu", "tanh", "gelu"}),
};

std::vector<std::vector<double>> draws(std::uint64_t seed, int n) {
    auto sampler = pt::load<plexus::Sampler>("random");
    std::vector<std::vector<double>> out;
    for (int i = 0; i < n; ++i)
        out.push_back(sampler->suggest(kSpace, {}, {seed, static_cast<std::uint64_t>(i)}));
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(respects_bounds_lattices_and_log_scales) {
    const int n = 4000;
    std::map<double, int> units, rates, acts;
    int lr_below_geomean = 0, batch_below_32 = 0;
    double x_sum = 0;
    for (const auto& v : draws(7, n)) {
        BOOST_REQUIRE_EQUAL(v.size(), kSpace.size());
        BOOST_TEST((v[0] >= -2 && v[0] <= 3));
        x_sum += v[0];
        BOOST_TEST((v[1] >= 1e-4 && v[1] <= 1e-1));
        lr_below_geomean += v[1] < std::sqrt(1e-4 * 1e-1);
        ++units[v[2]];
        BOOST_TEST((v[3] >= 1 && v[3] <= 1000 && v[3] == std::round(v[3])));
        batch_below_32 += v[3] < 32;
        ++rates[v[4]];
        ++acts[v[5]];
    }
    BOOST_TEST(std::abs(x_sum / n - 0.5) < 0.1);  // mean of uniform(-2, 3)
    // Uniform in log: half the draws below the geometric mean (4000 draws: sd 0.008).
    BOOST_TEST(std::abs(lr_below_geomean / double(n) - 0.5) < 0.04);
    // Integers 1..1000 in log (Optuna's interval [log 0.5, log 1000.5]): P(< 32) =
    // log(31.5 / 0.5) / log(1000.5 / 0.5) = 0.545; uniform draws would give 0.031.
    BOOST_TEST(std::abs(batch_below_32 / double(n) - 0.545) < 0.04);
    // Each lattice point about equally often: 8, 12, 16, 20 / 0, .25, .5, .75, 1 / 3 choices.
    BOOST_TEST(units.size() == 4u);
    for (double u : {8.0, 12.0, 16.0, 20.0}) BOOST_TEST(std::abs(units[u] - n / 4) < 150);
    BOOST_TEST(rates.size() == 5u);
    for (double r : {0.0, 0.25, 0.5, 0.75, 1.0}) BOOST_TEST(std::abs(rates[r] - n / 5) < 150);
    BOOST_TEST(acts.size() == 3u);
    for (double a : {0.0, 1.0, 2.0}) BOOST_TEST(std::abs(acts[a] - n / 3) < 150);
}

BOOST_AUTO_TEST_CASE(depends_on_seed_and_trial_number_only) {
    auto sampler = pt::load<plexus::Sampler>("random");
    const auto a = sampler->suggest(kSpace, {}, {3, 5});
    std::vector<plexus::TrialView> history = {pt::trial(0, a, 1.0)};
    BOOST_TEST(sampler->suggest(kSpace, history, {3, 5}) == a);
    BOOST_TEST(pt::load<plexus::Sampler>("random")->suggest(kSpace, {}, {3, 5}) == a);
    BOOST_TEST(sampler->suggest(kSpace, {}, {4, 5})[0] != a[0]);
    BOOST_TEST(sampler->suggest(kSpace, {}, {3, 6})[0] != a[0]);
}
