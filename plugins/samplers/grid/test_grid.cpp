// grid: exactly the product of the axes, each point once, in a seeded order, never a point
// already in the history; continuous or oversized spaces refused.
#define BOOST_TEST_MODULE grid
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "plexus/error.hpp"
#include "plexus/testing.hpp"
#include "plexus/testing/samplers.hpp"

namespace pt = plexus::testing;
using Point = std::vector<double>;

namespace {

// 3 choices x {1, 3, 5} x {0, 0.5, 1} = 27 points.
const plexus::SearchSpace kSpace = {pt::choice("act", {"relu", "tanh", "gelu"}),
                                    pt::integer("layers", 1, 5, 2), pt::uniform("p", 0, 1, 0.5)};

std::vector<Point> visit(std::uint64_t seed, std::size_t n) {
    auto grid = pt::load<plexus::Sampler>("grid");
    std::vector<plexus::TrialView> history;
    std::vector<Point> order;
    for (std::uint64_t i = 0; i < n; ++i) {
        order.push_back(grid->suggest(kSpace, history, {seed, i}));
        history.push_back(pt::trial(i, order.back(), 0.0, plexus::TrialState::running));
    }
    return order;
}

}  // namespace

BOOST_AUTO_TEST_CASE(enumerates_the_product_each_point_once) {
    BOOST_TEST(pt::load<plexus::Sampler>("grid")->size(kSpace) == 27u);
    std::set<Point> expected;
    for (double a : {0.0, 1.0, 2.0})
        for (double l : {1.0, 3.0, 5.0})
            for (double p : {0.0, 0.5, 1.0}) expected.insert({a, l, p});
    const auto order = visit(11, 27);
    BOOST_TEST(std::set<Point>(order.begin(), order.end()) == expected);
}

BOOST_AUTO_TEST_CASE(order_is_shuffled_by_the_seed) {
    const auto a = visit(1, 27), b = visit(1, 27), c = visit(2, 27);
    BOOST_TEST(a == b);
    BOOST_TEST(a != c);
    // Shuffled, not the lexicographic order the product is written in.
    std::vector<Point> sorted = a;
    std::sort(sorted.begin(), sorted.end());
    BOOST_TEST(a != sorted);
}

BOOST_AUTO_TEST_CASE(never_proposes_a_point_of_the_history) {
    auto grid = pt::load<plexus::Sampler>("grid");
    // Another worker holds the point this one would propose first, plus a failed and a
    // pruned trial: all three states block their points.
    const Point first = grid->suggest(kSpace, {}, {5, 0});
    const Point second =
        grid->suggest(kSpace, {pt::trial(0, first, 0, plexus::TrialState::running)}, {5, 1});
    const Point third = grid->suggest(kSpace,
                                      {pt::trial(0, first, 0, plexus::TrialState::failed),
                                       pt::trial(1, second, 0, plexus::TrialState::pruned)},
                                      {5, 2});
    BOOST_TEST(second != first);
    BOOST_TEST((third != first && third != second));
    // Every point taken: the grid starts over rather than failing.
    const auto all = visit(5, 27);
    std::vector<plexus::TrialView> full;
    for (std::uint64_t i = 0; i < all.size(); ++i) full.push_back(pt::trial(i, all[i], 1.0));
    BOOST_TEST(
        std::set<Point>(all.begin(), all.end()).count(grid->suggest(kSpace, full, {5, 27})) == 1u);
}

BOOST_AUTO_TEST_CASE(refuses_continuous_and_oversized_spaces) {
    auto grid = pt::load<plexus::Sampler>("grid");
    auto message = [&](const plexus::SearchSpace& space) -> std::string {
        try {
            grid->check(space);
        } catch (const plexus::ConfigError& e) {
            return e.what();
        }
        return "";
    };
    BOOST_TEST(message({pt::log_uniform("lr", 1e-4, 1e-1)}).find("'lr'") != std::string::npos);
    BOOST_TEST(message({pt::uniform("p", 0, 1)}).find("step") != std::string::npos);
    BOOST_TEST(message({pt::uniform("p", 0, 1, 0.1)}).empty());
    BOOST_TEST(grid->size({pt::uniform("p", 0, 1, 0.1)}) == 11u);  // 0, 0.1, ..., 1.0
    // 2^21 ^ 3 = 2^63 points is the largest allowed; one more axis of 2 overflows.
    const double big = 2097151;  // 0 .. 2^21 - 1
    plexus::SearchSpace space = {pt::integer("a", 0, big), pt::integer("b", 0, big),
                                 pt::integer("c", 0, big)};
    BOOST_TEST(grid->size(space) == (std::uint64_t{1} << 63));
    BOOST_TEST(grid->suggest(space, {}, {1, 0}).size() == 3u);
    space.push_back(pt::integer("d", 0, 1));
    BOOST_TEST(message(space).find("2^63") != std::string::npos);
}
