#define BOOST_TEST_MODULE transforms_scalers
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "check_close.hpp"
#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"

using plexus::Transform;
using plexus::test::check_close;
using plexus::testing::load;
using Floats = std::vector<float>;

namespace {

// 4 samples × 3 features; feature 1 is constant.
const Floats kData = {1, 10, 0,  //
                      2, 10, 0,  //
                      3, 10, 4,  //
                      4, 10, 4};

// Fits on `data` in two uneven batches (1 row, then the rest) to exercise accumulation.
std::vector<std::string> fit(Transform& t, const Floats& data, std::size_t features) {
    BOOST_REQUIRE(t.needs_fit());
    t.fit_begin();
    t.fit_batch(data.data(), 1);
    t.fit_batch(data.data() + features, data.size() / features - 1);
    return t.fit_end();
}

Floats apply(const Transform& t, const Floats& x, std::size_t features) {
    Floats y(x.size(), -99.0f);
    t.apply(x.data(), y.data(), x.size() / features, plexus::Mode::infer, {});
    return y;
}

std::shared_ptr<Transform> fitted(const std::string& spec,
                                  std::vector<std::string>* warnings = nullptr) {
    auto t = load<Transform>(spec);
    BOOST_TEST((t->build({3}) == plexus::Shape{3}));
    BOOST_TEST(!t->train_only());
    auto w = fit(*t, kData, 3);
    if (warnings) *warnings = w;
    return t;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(scale_fits_min_and_max_per_feature_and_leaves_constant_features) {
    std::vector<std::string> warnings;
    auto t = fitted("scale", &warnings);
    BOOST_REQUIRE_EQUAL(warnings.size(), 1u);
    BOOST_TEST(contains(warnings[0], "1 of 3 features"), warnings[0]);
    BOOST_TEST(contains(warnings[0], "feature 1"), warnings[0]);
    BOOST_TEST(contains(warnings[0], "max == min"), warnings[0]);

    const auto state = t->state();
    BOOST_REQUIRE_EQUAL(state.size(), 2u);
    BOOST_TEST(state[0].name == "data_min");
    BOOST_TEST(state[1].name == "data_max");
    BOOST_TEST((state[0].shape == plexus::Shape{3}));
    BOOST_TEST(state[0].values == Floats({1, 10, 0}), boost::test_tools::per_element());
    BOOST_TEST(state[1].values == Floats({4, 10, 4}), boost::test_tools::per_element());

    // (x - min)/(max - min); feature 1 passes through unchanged.
    check_close(apply(*t, kData, 3), {0, 10, 0, 1.f / 3, 10, 0, 2.f / 3, 10, 1, 1, 10, 1});
    // Values outside the training interval scale the same way (no clipping, like sklearn).
    check_close(apply(*t, {7, 3, -2}, 3), {2, 3, -0.5f});
}

BOOST_AUTO_TEST_CASE(scale_to_minus_one_one_and_global) {
    auto sym = fitted("scale range=-1,1");
    check_close(apply(*sym, kData, 3), {-1, 10, -1, -1.f / 3, 10, -1, 1.f / 3, 10, 1, 1, 10, 1});

    // One min (0) and max (10) over all 12 values: y = x/10.
    std::vector<std::string> warnings;
    auto global = fitted("scale per=global", &warnings);
    BOOST_TEST(warnings.empty());
    const auto state = global->state();
    BOOST_REQUIRE_EQUAL(state.size(), 2u);
    BOOST_TEST((state[0].shape == plexus::Shape{1}));
    BOOST_TEST(state[0].values == Floats({0}));
    BOOST_TEST(state[1].values == Floats({10}));
    check_close(apply(*global, kData, 3), {0.1f, 1, 0, 0.2f, 1, 0, 0.3f, 1, 0.4f, 0.4f, 1, 0.4f});
    auto global_sym = fitted("scale per=global range=-1,1");
    check_close(apply(*global_sym, {0, 5, 10}, 3), {-1, 0, 1});
}

BOOST_AUTO_TEST_CASE(standardize_per_feature_uses_the_population_std) {
    std::vector<std::string> warnings;
    auto t = fitted("standardize", &warnings);
    BOOST_REQUIRE_EQUAL(warnings.size(), 1u);
    BOOST_TEST(contains(warnings[0], "1 of 3 features"), warnings[0]);
    BOOST_TEST(contains(warnings[0], "variance 0"), warnings[0]);
    // Feature 0: 1..4, mean 2.5, variance (2.25 + 0.25 + 0.25 + 2.25)/4 = 1.25.
    // Feature 2: 0,0,4,4, mean 2, variance 4, std 2.
    const auto state = t->state();
    BOOST_REQUIRE_EQUAL(state.size(), 2u);
    BOOST_TEST(state[0].name == "mean");
    BOOST_TEST(state[1].name == "std");
    check_close(state[0].values, {2.5f, 10, 2});
    check_close(state[1].values, {1.1180340f, 0, 2});
    // (x - 2.5)/sqrt(1.25) = ±0.4472136, ±1.3416408.
    check_close(apply(*t, kData, 3), {-1.3416408f, 10, -1, -0.4472136f, 10, -1,  //
                                      0.4472136f, 10, 1, 1.3416408f, 10, 1});
}

BOOST_AUTO_TEST_CASE(standardize_global) {
    auto t = fitted("standardize per=global");
    // Sum 58 and sum of squares 462 over 12 values: mean 29/6, variance 462/12 - (29/6)^2
    // = 545/36, std sqrt(545)/6 = 3.8908725.
    const auto state = t->state();
    check_close(state[0].values, {4.8333333f});
    check_close(state[1].values, {3.8908725f});
    check_close(apply(*t, {0, 29.f / 6, 10}, 3), {-1.2422235f, 0, 1.3278941f});
}

BOOST_AUTO_TEST_CASE(standardize_is_accurate_far_from_zero) {
    // 1e8 + {0, 8, 24}: deviations -32/3, -8/3, 40/3 from the mean, variance
    // (1024 + 64 + 1600)/27 = 896/9, std 9.9777530. A plain E[x^2] - E[x]^2 in double
    // rounds squares near 1e16 and gives 9.8995 here.
    auto t = load<Transform>("standardize");
    t->build({1});
    const Floats data = {1e8f, 1e8f + 8, 1e8f + 24};
    fit(*t, data, 1);
    const auto state = t->state();
    BOOST_TEST(std::abs(state[1].values[0] - 9.9777530f) <= 1e-6f * 9.9777530f);
    BOOST_TEST(std::abs(state[0].values[0] - 100000010.67f) <= 8.0f);
}

BOOST_AUTO_TEST_CASE(warnings_name_the_first_constant_features_and_global_equality) {
    auto t = load<Transform>("standardize");
    t->build({2, 4});
    t->fit_begin();
    const Floats rows = {0, 0, 0, 0, 0, 0, 0, 1,  //
                         0, 0, 0, 0, 0, 0, 0, 2};
    t->fit_batch(rows.data(), 2);
    const auto w = t->fit_end();
    BOOST_REQUIRE_EQUAL(w.size(), 1u);
    BOOST_TEST(contains(w[0], "7 of 8 features"), w[0]);
    BOOST_TEST(contains(w[0], "feature 0, 1, 2, 3, 4, ..."), w[0]);

    auto g = load<Transform>("scale per=global");
    g->build({2});
    g->fit_begin();
    const Floats same = {3, 3, 3, 3};
    g->fit_batch(same.data(), 2);
    const auto gw = g->fit_end();
    BOOST_REQUIRE_EQUAL(gw.size(), 1u);
    BOOST_TEST(contains(gw[0], "all training values are equal"), gw[0]);
    BOOST_TEST(apply(*g, {3, -7}, 2) == Floats({3, -7}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(state_round_trips_into_a_new_instance) {
    for (const char* spec :
         {"scale range=-1,1", "scale per=global", "standardize", "standardize per=global"}) {
        BOOST_TEST_CONTEXT(spec) {
            auto a = fitted(spec);
            auto b = load<Transform>(spec);
            b->build({3});
            b->load_state(a->state());
            const Floats x = {0.5f, -3, 7, 4, 10, 2};
            BOOST_TEST(apply(*b, x, 3) == apply(*a, x, 3), boost::test_tools::per_element());
        }
    }
}

BOOST_AUTO_TEST_CASE(load_state_rejects_states_that_do_not_fit) {
    auto a = fitted("standardize");
    const auto good = a->state();
    auto b = load<Transform>("standardize");
    b->build({3});
    BOOST_CHECK_THROW(apply(*b, kData, 3), plexus::Error);  // neither fitted nor loaded
    BOOST_CHECK_THROW(b->load_state({}), plexus::DataError);
    auto renamed = good;
    renamed[1].name = "variance";
    BOOST_CHECK_THROW(b->load_state(renamed), plexus::DataError);
    BOOST_CHECK_THROW(b->load_state({good[0]}), plexus::DataError);
    auto short_values = good;
    short_values[0].values.pop_back();
    BOOST_CHECK_THROW(b->load_state(short_values), plexus::DataError);
    auto negative = good;
    negative[1].values[0] = -1;
    BOOST_CHECK_THROW(b->load_state(negative), plexus::DataError);
    // A per-feature state does not fit per=global, nor samples of another size.
    auto g = load<Transform>("standardize per=global");
    g->build({3});
    BOOST_CHECK_THROW(g->load_state(good), plexus::DataError);
    auto wide = load<Transform>("standardize");
    wide->build({4});
    BOOST_CHECK_THROW(wide->load_state(good), plexus::DataError);
    // The state of a scaler is not a standardizer's.
    auto s = load<Transform>("scale");
    s->build({3});
    BOOST_CHECK_THROW(s->load_state(good), plexus::DataError);
    // And after all these failures the good state still loads.
    b->load_state(good);
    BOOST_TEST(apply(*b, kData, 3) == apply(*a, kData, 3), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(divide_is_a_fixed_rescaling_without_fitting) {
    auto t = load<Transform>("scale divide=255");
    BOOST_TEST(!t->needs_fit());
    BOOST_TEST((t->build({1, 2, 2}) == plexus::Shape{1, 2, 2}));
    BOOST_TEST(apply(*t, {0, 51, 255, 510}, 4) == Floats({0, 0.2f, 1, 2}),
               boost::test_tools::per_element());
    BOOST_TEST(t->state().empty());
    t->load_state({});
    BOOST_CHECK_THROW(t->load_state(fitted("scale")->state()), plexus::DataError);
}

BOOST_AUTO_TEST_CASE(bad_parameters_are_rejected) {
    // Checked by the host against the spec: ParamError.
    BOOST_CHECK_THROW(load<Transform>("scale per=pixel"), plexus::ParamError);
    BOOST_CHECK_THROW(load<Transform>("scale divide=-1"), plexus::ParamError);
    BOOST_CHECK_THROW(load<Transform>("standardize epsilon=1e-7"), plexus::ParamError);
    // Checked by the constructor: the factory fails and the host reports it (PluginError).
    for (const char* spec : {"scale range=1,0", "scale range=0,0", "scale range=0",
                             "scale range=a,b", "scale range=0,1,2"}) {
        BOOST_TEST_CONTEXT(spec) {
            try {
                load<Transform>(spec);
                BOOST_ERROR("accepted");
            } catch (const plexus::Error& e) {
                BOOST_TEST(contains(e.what(), "low < high"), e.what());
            }
        }
    }
}
