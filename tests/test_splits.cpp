// Splits are disjoint, cover the pool, keep class proportions when stratified, depend on
// the seed only, and never take "the last rows" — unless they are chronological, where they
// take exactly the last rows and drop the windows that cross a cut.
#define BOOST_TEST_MODULE splits
#include <boost/test/unit_test.hpp>
#include <array>
#include <numeric>
#include <set>

#include "plexus/core/data/splits.hpp"
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

BOOST_AUTO_TEST_CASE(split_presets_parse_to_fractions) {
    struct Case {
        const char* text;
        double validation, test;
        bool stratified;
    };
    for (const auto& c :
         {Case{"80:20", 0.0, 0.2, false}, Case{"70:30", 0.0, 0.3, false},
          Case{"60:20:20", 0.2, 0.2, false}, Case{"70:15:15", 0.15, 0.15, false},
          Case{"98:1:1", 0.01, 0.01, false}, Case{"stratified 80:20", 0.0, 0.2, true},
          Case{"70:15:15 stratified", 0.15, 0.15, true}, Case{" 90 : 10 ", 0.0, 0.1, false},
          Case{"33.4:33.3:33.3", 0.333, 0.333, false}}) {
        BOOST_TEST_CONTEXT("split '" << c.text << "'") {
            const SplitSpec spec = parse_split(c.text, "exp.ini:9");
            BOOST_TEST(spec.validation == c.validation, boost::test_tools::tolerance(1e-12));
            BOOST_TEST(spec.test == c.test, boost::test_tools::tolerance(1e-12));
            BOOST_TEST(spec.stratified == c.stratified);
        }
    }
}

BOOST_AUTO_TEST_CASE(split_presets_give_hand_computed_sizes) {
    const auto labels = imbalanced_labels();  // classes of 700, 200 and 100
    using Counts = std::vector<std::size_t>;
    struct Case {
        const char* text;
        Counts train, validation, test;  // per class, stratified; their sums unstratified
    };
    for (const auto& c : {Case{"80:20", {560, 160, 80}, {0, 0, 0}, {140, 40, 20}},
                          Case{"70:30", {490, 140, 70}, {0, 0, 0}, {210, 60, 30}},
                          Case{"60:20:20", {420, 120, 60}, {140, 40, 20}, {140, 40, 20}},
                          Case{"70:15:15", {490, 140, 70}, {105, 30, 15}, {105, 30, 15}},
                          Case{"98:1:1", {686, 196, 98}, {7, 2, 1}, {7, 2, 1}}}) {
        for (const char* word : {"", " stratified"}) {
            const std::string text = c.text + std::string(word);
            BOOST_TEST_CONTEXT("split '" << text << "'") {
                const SplitSpec spec = parse_split(text, "");
                const auto s = make_splits(iota(1000), labels, spec, 11);
                const auto sum = [](const Counts& v) {
                    return std::accumulate(v.begin(), v.end(), std::size_t{0});
                };
                BOOST_TEST(s.train.size() == sum(c.train));
                BOOST_TEST(s.validation.size() == sum(c.validation));
                BOOST_TEST(s.test.size() == sum(c.test));
                std::set<std::uint32_t> all;
                for (const auto* part : {&s.train, &s.validation, &s.test})
                    all.insert(part->begin(), part->end());
                BOOST_TEST(all.size() == 1000u);  // disjoint and covering the pool
                if (spec.stratified) {
                    BOOST_TEST(class_counts(s.train, labels, 3) == c.train,
                               boost::test_tools::per_element());
                    BOOST_TEST(class_counts(s.validation, labels, 3) == c.validation,
                               boost::test_tools::per_element());
                    BOOST_TEST(class_counts(s.test, labels, 3) == c.test,
                               boost::test_tools::per_element());
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(stratified_split_is_within_one_sample_per_class) {
    std::vector<std::uint32_t> labels(1000);  // classes of 334, 333 and 333: shares are not whole
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::uint32_t>(i % 3);
    const std::vector<std::size_t> sizes{334, 333, 333};
    for (const char* text : {"70:15:15 stratified", "stratified 98:1:1", "80:20 stratified"}) {
        const SplitSpec spec = parse_split(text, "");
        const auto s = make_splits(iota(1000), labels, spec, 5);
        const double train = 1.0 - spec.validation - spec.test;
        for (const auto& [part, fraction] :
             {std::pair{&s.train, train}, std::pair{&s.validation, spec.validation},
              std::pair{&s.test, spec.test}}) {
            const auto counts = class_counts(*part, labels, 3);
            for (std::size_t k = 0; k < 3; ++k)
                BOOST_TEST(std::abs(static_cast<double>(counts[k]) -
                                    fraction * static_cast<double>(sizes[k])) <= 1.0,
                           text << ": class " << k << " has " << counts[k]);
        }
    }
}

BOOST_AUTO_TEST_CASE(split_errors_say_what_and_how) {
    const std::string advice =
        " (use e.g. 80:20, 70:30, 60:20:20, 70:15:15 or 98:1:1, optionally with 'stratified' or "
        "'chronological')";
    struct Case {
        const char* text;
        const char* what;
    };
    for (const auto& c :
         {Case{"80:30", "has parts that add up to 110, not 100"},
          Case{"abc", "is not a ratio train:test or train:validation:test"},
          Case{"0:100", "has the part 0; every part must be above 0"},
          Case{"80:-20", "has the part -20; every part must be above 0"},
          Case{"0.8:0.2", "has parts that add up to 1, not 100"},
          Case{"80:x", "has 'x', which is not a number"},
          Case{"80:", "has '', which is not a number"},
          Case{"inf:20", "has 'inf', which is not a number"},
          Case{"40:30:20:10", "is not a ratio train:test or train:validation:test"},
          Case{"80:20 70:30", "has an unexpected word '70:30'"},
          Case{"stratified 80:20 stratified", "has an unexpected word 'stratified'"},
          Case{"chronological 80:20 chronological", "has an unexpected word 'chronological'"},
          Case{"80:20 chronological stratified",
               "is both stratified and chronological (a chronological split takes the most "
               "recent samples, whatever their class; keep one)"},
          Case{"stratified", "has no ratio"}, Case{"", "has no ratio"}}) {
        try {
            parse_split(c.text, "exp.ini:9");
            BOOST_ERROR("accepted '" << c.text << "'");
        } catch (const plexus::ConfigError& e) {
            BOOST_TEST(std::string(e.what()) ==
                       "exp.ini:9: split '" + std::string(c.text) + "' " + c.what + advice);
        }
    }
}

BOOST_AUTO_TEST_CASE(chronological_word_parses) {
    const SplitSpec a = parse_split("70:15:15 chronological", "");
    BOOST_TEST(a.chronological);
    BOOST_TEST(!a.stratified);
    BOOST_TEST(a.test == 0.15, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(!parse_split("80:20", "").chronological);
    bool stratified = true, chronological = false;
    BOOST_TEST(parse_fraction("chronological 0.1", "", stratified, &chronological) == 0.1);
    BOOST_TEST(chronological);
    BOOST_TEST(!stratified);
    // Where chronological splits do not apply, the word is not a fraction's.
    BOOST_CHECK_THROW(parse_fraction("0.1 chronological", "", stratified), plexus::ConfigError);
}

BOOST_AUTO_TEST_CASE(chronological_splits_cut_rows_and_drop_crossing_windows) {
    // Rows 0..9, one sample per row: the last 2 rows test, the 1 before validates, in order.
    const auto rows = make_chronological_splits(iota(10), {}, {0.1, 0.2, false, true});
    BOOST_TEST(rows.train == std::vector<std::uint32_t>({0, 1, 2, 3, 4, 5, 6}),
               boost::test_tools::per_element());
    BOOST_TEST(rows.validation == std::vector<std::uint32_t>({7}), boost::test_tools::per_element());
    BOOST_TEST(rows.test == std::vector<std::uint32_t>({8, 9}), boost::test_tools::per_element());
    BOOST_TEST(rows.dropped == 0u);

    // Windows of 3 rows + 1 target over rows 0..19, stride 2: window i reads rows 2i..2i+3.
    // 20 % test = rows 16-19, 20 % validation = rows 12-15: window 6 (rows 12-15) validates,
    // window 8 (rows 16-19) tests, windows 5 (10-13) and 7 (14-17) cross a cut.
    std::vector<std::array<std::uint32_t, 2>> spans;
    for (std::uint32_t i = 0; i < 9; ++i) spans.push_back({2 * i, 2 * i + 3});
    const auto w = make_chronological_splits(iota(9), spans, {0.2, 0.2, false, true});
    BOOST_TEST(w.train == std::vector<std::uint32_t>({0, 1, 2, 3, 4}), boost::test_tools::per_element());
    BOOST_TEST(w.validation == std::vector<std::uint32_t>({6}), boost::test_tools::per_element());
    BOOST_TEST(w.test == std::vector<std::uint32_t>({8}), boost::test_tools::per_element());
    BOOST_TEST(w.dropped == 2u);
    BOOST_CHECK_THROW(make_chronological_splits(iota(9), spans, {0.5, 0.5, false, true}),
                      plexus::ConfigError);
}
