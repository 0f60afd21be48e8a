// tpe: the Parzen estimator against Optuna 3.1's (values printed by optuna_reference.py in
// this folder), the truncated-normal numerics against mpmath, the rules on the history
// (which trials count, startup), bounds and scales of the suggestions, reproducibility, and
// that it beats random search on a function with a known minimum.
#define BOOST_TEST_MODULE tpe
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "parzen.hpp"
#include "plexus/testing.hpp"
#include "plexus/testing/samplers.hpp"
#include "truncnorm.hpp"

namespace pt = plexus::testing;
namespace tt = boost::test_tools;
using plexus::TrialState;
using Points = std::vector<std::vector<double>>;

namespace {

std::vector<double> log_pdfs(const plexus::SearchSpace& space, const Points& observations,
                             const Points& points, bool multivariate = false) {
    std::vector<plexus_tpe::Dim> dims;
    for (const auto& p : space) dims.push_back(plexus_tpe::make_dim(p));
    plexus_tpe::ParzenOptions options;
    options.multivariate = multivariate;
    const plexus_tpe::Parzen parzen(dims, observations, options);
    std::vector<double> out;
    for (const auto& x : points) out.push_back(parzen.log_pdf(x));
    return out;
}

Points column(const std::vector<double>& values) {
    Points out;
    for (double v : values) out.push_back({v});
    return out;
}

void check_close(const std::vector<double>& got, const std::vector<double>& want) {
    BOOST_REQUIRE_EQUAL(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) BOOST_TEST(got[i] == want[i], tt::tolerance(1e-9));
}

}  // namespace

BOOST_AUTO_TEST_CASE(parzen_estimator_matches_optuna) {
    check_close(log_pdfs({pt::uniform("x", -5, 10)}, column({1.0, 2.5, -3.0}),
                         column({-4.0, 0.0, 2.0, 9.5})),
                {-0.829488226467, -0.612195283304, -0.633060650493, -1.37577896875});
    check_close(log_pdfs({pt::integer("x", 1, 10)}, column({2, 3, 3, 8}), column({1, 3, 10})),
                {-2.11357545139, -1.81857792375, -3.05450277925});
    check_close(log_pdfs({pt::integer("x", 8, 20, 4)}, column({8, 16}), column({8, 12, 20})),
                {-1.4157177586, -1.25163427409, -1.67099720091});
    check_close(
        log_pdfs({pt::uniform("x", 0, 1, 0.25)}, column({0.25, 0.5, 0.5}), column({0.0, 0.5, 1.0})),
        {-1.94160063762, -1.16908822532, -2.52197753557});
    check_close(log_pdfs({pt::log_uniform("x", 1e-4, 1e-1)}, column({1e-3, 3e-3}),
                         column({1e-4, 2e-3, 5e-2})),
                {-0.949548293188, -0.481858787647, -0.997297579694});
    check_close(
        log_pdfs({pt::integer("x", 1, 1000, 1, true)}, column({4, 16, 600}), column({1, 20, 1000})),
        {-1.02635571851, -0.635182100292, -0.884493522462});
    check_close(log_pdfs({pt::choice("c", {"a", "b", "c"})}, column({0, 2, 2}), column({0, 1, 2})),
                {-1.09861228867, -1.6582280766, -0.741937344729});
    check_close(log_pdfs({pt::uniform("x", -5, 10)}, {}, column({0.0, 2.5})),
                {0.0270889116021, 0.0409778004909});
    std::vector<double> thirty;  // 30 observations: the 5 oldest weighted by the ramp
    for (int i = 0; i < 30; ++i) thirty.push_back(i / 29.0);
    check_close(log_pdfs({pt::uniform("x", 0, 1)}, column(thirty), column({0.0, 0.5, 1.0})),
                {-3.29725437201, -2.63897783636, -2.62783091399});
    check_close(log_pdfs({pt::uniform("x", -5, 10), pt::choice("c", {"1", "2", "3"})},
                         {{1.0, 0}, {2.5, 1}, {-3.0, 1}}, {{0.0, 1}, {2.0, 2}}, true),
                {-1.56920023967, -2.12391480806});
}

BOOST_AUTO_TEST_CASE(truncated_normal_numerics) {
    // References: mpmath at 30 digits (log(ncdf(b) - ncdf(a))).
    BOOST_TEST(plexus_tpe::log_ndtr(-30) == -454.321243956343197, tt::tolerance(1e-13));
    BOOST_TEST(plexus_tpe::log_ndtr(-25) == -316.639408008020259, tt::tolerance(1e-13));
    BOOST_TEST(plexus_tpe::log_gauss_mass(-1, 1) == -0.381715146302, tt::tolerance(1e-11));
    BOOST_TEST(plexus_tpe::log_gauss_mass(2, 3) == -3.84435342633, tt::tolerance(1e-11));
    BOOST_TEST(plexus_tpe::log_gauss_mass(-50, -40) == -804.608442013753788, tt::tolerance(1e-13));
    BOOST_TEST(plexus_tpe::log_gauss_mass(40, 50) == -804.608442013753788, tt::tolerance(1e-13));
    // The quantile inverts the truncated CDF, also far in a tail.
    for (double a : {-100.0, -1.0, 0.5, 20.0}) {
        const double b = a + 3.0;
        for (double u : {0.001, 0.3, 0.5, 0.9, 0.999}) {
            const double x = plexus_tpe::truncnorm_ppf(u, a, b);
            BOOST_TEST((x >= a && x <= b));
            const double cdf =
                std::exp(plexus_tpe::log_gauss_mass(a, x) - plexus_tpe::log_gauss_mass(a, b));
            BOOST_TEST(cdf == u, tt::tolerance(1e-8));
        }
    }
}

namespace {

const plexus::SearchSpace kSpace = {
    pt::uniform("x", -2, 3),         pt::log_uniform("lr", 1e-4, 1e-1),
    pt::integer("units", 8, 20, 4),  pt::integer("batch", 1, 1000, 1, true),
    pt::uniform("rate", 0, 1, 0.25), pt::choice("act", {"relu", "tanh", "gelu"}),
};

// Twelve finished trials whose value favours small x and lr near 1e-3.
std::vector<plexus::TrialView> some_history() {
    auto random = pt::load<plexus::Sampler>("random");
    std::vector<plexus::TrialView> history;
    for (std::uint64_t n = 0; n < 12; ++n) {
        auto p = random->suggest(kSpace, {}, {99, n});
        const double value = p[0] + std::fabs(std::log10(p[1]) + 3.0);
        history.push_back(pt::trial(n, std::move(p), value));
    }
    return history;
}

bool on_lattices(const std::vector<double>& v) {
    return v.size() == kSpace.size() && v[0] >= -2 && v[0] <= 3 && v[1] >= 1e-4 && v[1] <= 1e-1 &&
           std::fmod(v[2] - 8, 4) == 0 && v[2] >= 8 && v[2] <= 20 && v[3] == std::round(v[3]) &&
           v[3] >= 1 && v[3] <= 1000 && std::fmod(v[4], 0.25) == 0 && v[4] >= 0 && v[4] <= 1 &&
           (v[5] == 0 || v[5] == 1 || v[5] == 2);
}

}  // namespace

BOOST_AUTO_TEST_CASE(suggestions_respect_bounds_lattices_and_log_scales) {
    // With no history and no startup, l and g are both the prior, so every suggestion is a
    // draw from the prior: a normal centred mid-range in log(lr), half of it below the
    // geometric mean.
    auto tpe = pt::load<plexus::Sampler>("tpe startup=0");
    const int n = 2000;
    int below = 0;
    for (int i = 0; i < n; ++i) {
        const auto v = tpe->suggest(kSpace, {}, {1, static_cast<std::uint64_t>(i)});
        BOOST_TEST(on_lattices(v));
        below += v[1] < std::sqrt(1e-4 * 1e-1);
    }
    BOOST_TEST(std::abs(below / double(n) - 0.5) < 0.05);
    // Modelled suggestions, univariate and multivariate, stay valid too.
    const auto history = some_history();
    for (const char* spec : {"tpe", "tpe multivariate=true"}) {
        auto model = pt::load<plexus::Sampler>(spec);
        for (std::uint64_t t = 12; t < 200; ++t)
            BOOST_TEST(on_lattices(model->suggest(kSpace, history, {5, t})), spec << " " << t);
    }
}

BOOST_AUTO_TEST_CASE(same_seed_and_history_give_the_same_suggestion) {
    const auto history = some_history();
    auto a = pt::load<plexus::Sampler>("tpe"), b = pt::load<plexus::Sampler>("tpe");
    const auto first = a->suggest(kSpace, history, {3, 12});
    BOOST_TEST(b->suggest(kSpace, history, {3, 12}) == first);
    BOOST_TEST(a->suggest(kSpace, history, {4, 12}) != first);
    // The history's order as given does not matter: trials are taken by number.
    auto reversed = history;
    std::reverse(reversed.begin(), reversed.end());
    BOOST_TEST(a->suggest(kSpace, reversed, {3, 12}) == first);
}

BOOST_AUTO_TEST_CASE(counts_complete_and_pruned_trials_only) {
    auto tpe = pt::load<plexus::Sampler>("tpe"), random = pt::load<plexus::Sampler>("random");
    auto history = some_history();
    history.resize(9);
    // Nine finished trials: still the startup, the random sampler's own draw. Running and
    // failed trials, and trials whose parameters do not fit the space, do not count.
    auto noisy = history;
    noisy.push_back(pt::trial(9, noisy[0].params, 0, TrialState::running));
    noisy.push_back(pt::trial(10, noisy[1].params, 0, TrialState::failed));
    noisy.push_back(pt::trial(11, {0.5}, -100.0));
    auto nan = noisy[2].params;
    nan[0] = std::numeric_limits<double>::quiet_NaN();
    noisy.push_back(pt::trial(12, nan, -100.0));
    noisy.push_back(pt::trial(13, {9.0, 1e-3, 8, 1, 0, 0}, -100.0));  // x beyond its bound
    BOOST_TEST(tpe->suggest(kSpace, noisy, {2, 14}) == random->suggest(kSpace, {}, {2, 14}));
    // A pruned trial is the tenth observation: the model takes over.
    auto pruned = pt::trial(9, history[3].params, 0, TrialState::pruned);
    pruned.intermediate = {{1, 5.0}, {2, 4.0}};
    history.push_back(pruned);
    BOOST_TEST(tpe->suggest(kSpace, history, {2, 10}) != random->suggest(kSpace, {}, {2, 10}));
}

BOOST_AUTO_TEST_CASE(beats_random_search_on_an_off_centre_quadratic) {
    // Minimum 0 at (0.7, -0.3) in [-1, 1]²; 10 seeds of 40 trials each.
    const plexus::SearchSpace space = {pt::uniform("a", -1, 1), pt::uniform("b", -1, 1)};
    auto f = [](const std::vector<double>& x) {
        return (x[0] - 0.7) * (x[0] - 0.7) + (x[1] + 0.3) * (x[1] + 0.3);
    };
    auto mean_best = [&](const std::string& spec) {
        auto sampler = pt::load<plexus::Sampler>(spec);
        double sum = 0;
        for (std::uint64_t seed = 0; seed < 10; ++seed) {
            double best = 1e9;
            for (const auto& t : pt::run_study(*sampler, space, f, 40, seed))
                best = std::min(best, *t.value);
            sum += best;
        }
        return sum / 10;
    };
    const double tpe = mean_best("tpe"), random = mean_best("random");
    BOOST_TEST_MESSAGE("mean best of 10 seeds: tpe " << tpe << ", random " << random);
    BOOST_TEST(tpe < 0.5 * random);
}

BOOST_AUTO_TEST_CASE(fixed_parameters_stay_fixed) {
    // A study file may pin a parameter (low == high): nothing to model, never a NaN.
    const plexus::SearchSpace space = {pt::uniform("x", -1, 1), pt::uniform("u", 2, 2),
                                       pt::log_uniform("lr", 0.01, 0.01), pt::integer("n", 3, 3),
                                       pt::choice("c", {"only"})};
    for (bool multivariate : {false, true})
        for (double v : log_pdfs(space, {{0.5, 2, 0.01, 3, 0}, {-0.2, 2, 0.01, 3, 0}},
                                 {{0.1, 2, 0.01, 3, 0}}, multivariate))
            BOOST_TEST(std::isfinite(v));
    auto f = [](const std::vector<double>& x) { return x[0] * x[0]; };
    for (const char* spec : {"tpe", "tpe multivariate=true"}) {
        auto tpe = pt::load<plexus::Sampler>(spec);
        for (const auto& t : pt::run_study(*tpe, space, f, 20, 4))
            BOOST_TEST((t.params[1] == 2 && t.params[2] == 0.01 && t.params[3] == 3 &&
                        t.params[4] == 0 && std::abs(t.params[0]) <= 1),
                       spec << " trial " << t.number);
    }
}
