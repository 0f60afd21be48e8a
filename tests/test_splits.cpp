// Splits are disjoint, cover the pool, keep class proportions when stratified, depend on
// the seed only, and never take "the last rows".
#define BOOST_TEST_MODULE splits
#include <boost/test/unit_test.hpp>
#include <numeric>
#include <set>

#include "plexus/core/splits.hpp"
#include "plexus/error.hpp"

using namespace plexus::core;

namespace {

// 1,000 samples in three classes of 700, 200 and 100, stored class by class.
std::vector<std::uint32_t> imbalanced_labels() {
    std::vector<std::uint32_t> labels(1000);
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = i < 700 ? 0 : i < 900 ? 1 : 2;
    return labels;
}

std::vector<std::uint32_t> iota(std::size_t n) {
    std::vector<std::uint32_t> v(n);
    std::iota(v.begin(), v.end(), 0u);
    return v;
}

}  // namespace

BOOST_AUTO_TEST_CASE(disjoint_and_complete) {
    const auto labels = imbalanced_labels();
    for (bool stratified : {false, true}) {
        const auto s = make_splits(iota(1000), labels, {0.15, 0.15, stratified}, 7);
        BOOST_TEST(s.train.size() + s.validation.size() + s.test.size() == 1000u);
        std::set<std::uint32_t> all;
        for (const auto* part : {&s.train, &s.validation, &s.test}) all.insert(part->begin(), part->end());
        BOOST_TEST(all.size() == 1000u);  // no index in two splits, none lost
        BOOST_TEST(s.validation.size() == 150u);
        BOOST_TEST(s.test.size() == 150u);
    }
}

BOOST_AUTO_TEST_CASE(stratified_keeps_class_proportions) {
    const auto labels = imbalanced_labels();
    const auto s = make_splits(iota(1000), labels, {0.2, 0.1, true}, 3);
    // 20 % of each class: 140, 40, 20; 10 %: 70, 20, 10.
    const std::vector<std::size_t> val{140, 40, 20}, test{70, 20, 10}, train{490, 140, 70};
    BOOST_TEST(class_counts(s.validation, labels, 3) == val, boost::test_tools::per_element());
    BOOST_TEST(class_counts(s.test, labels, 3) == test, boost::test_tools::per_element());
    BOOST_TEST(class_counts(s.train, labels, 3) == train, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(seeded_and_not_the_last_rows) {
    const auto labels = imbalanced_labels();
    const auto a = make_splits(iota(1000), labels, {0.1, 0.0, false}, 42);
    const auto b = make_splits(iota(1000), labels, {0.1, 0.0, false}, 42);
    const auto c = make_splits(iota(1000), labels, {0.1, 0.0, false}, 43);
    BOOST_TEST(a.validation == b.validation, boost::test_tools::per_element());
    BOOST_TEST(a.validation != c.validation);
    // The last 100 rows are all class 2: a tail split would hold nothing else.
    BOOST_TEST(class_counts(a.validation, labels, 3)[0] > 40u);
}

BOOST_AUTO_TEST_CASE(fractions_parse_with_clear_errors) {
    bool stratified = false;
    BOOST_TEST(parse_fraction("0.1", "", stratified) == 0.1);
    BOOST_TEST(!stratified);
    BOOST_TEST(parse_fraction("0.25 stratified", "", stratified) == 0.25);
    BOOST_TEST(stratified);
    for (const char* bad : {"1.5", "-0.1", "ten", "0.1 0.2", ""}) {
        try {
            parse_fraction(bad, "exp.ini:7", stratified);
            BOOST_FAIL("accepted " << bad);
        } catch (const plexus::ConfigError& e) {
            BOOST_TEST(std::string(e.what()).find("exp.ini:7: expected a fraction in [0, 1)") == 0u);
        }
    }
    BOOST_CHECK_THROW(make_splits(iota(10), std::vector<std::uint32_t>(10, 0), {0.6, 0.4, false}, 1),
                      plexus::ConfigError);
}
