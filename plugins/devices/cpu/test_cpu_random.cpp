// The CPU device's random draws: known answers, reproducibility and distributions.
#include "test_cpu_support.hpp"

using namespace cpu_test;

namespace {

double mean_of(const Floats& v) {
    return std::accumulate(v.begin(), v.end(), 0.0) / v.size();
}
double std_of(const Floats& v) {
    const double m = mean_of(v);
    double s = 0.0;
    for (float x : v) s += (x - m) * (x - m);
    return std::sqrt(s / v.size());
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(cpu_random, Cpu)

BOOST_AUTO_TEST_CASE(random_known_answer) {
    // Philox4x32-10 with counter 0 and key 0 gives 6627e8d5 e169c58d bc57ac4c 9b00dbd8
    // (Random123 kat_vectors); the device keeps the top 24 bits of each word as a uniform.
    const Tensor y = dev->alloc({4});
    dev->random(Distribution::uniform, 0, 0, y, 0.0f, 1.0f);
    const Floats want = {0x6627e8p-24f, 0xe169c5p-24f, 0xbc57acp-24f, 0x9b00dbp-24f};
    const Floats got = host(y);
    for (std::size_t i = 0; i < 4; ++i) BOOST_TEST(got[i] == want[i]);
}

BOOST_AUTO_TEST_CASE(random_vectorised_blocks_match_the_scalar_generator) {
    // Whole groups of 16 blocks (64 values) come from the vectorised generator, the rest of a
    // tensor from the scalar one, so the same element computed both ways must agree: the
    // first 63 values (all scalar) against a 100-value tensor (first 64 vectorised), and
    // values 64..99 of it (scalar tail) against a 128-value tensor (all vectorised).
    for (Distribution dist : {Distribution::uniform, Distribution::bernoulli}) {
        const float a = dist == Distribution::uniform ? -2.0f : 0.3f, b = 5.0f;
        Tensor y63 = dev->alloc({63}), y100 = dev->alloc({100}), y128 = dev->alloc({128});
        for (Tensor* t : {&y63, &y100, &y128}) dev->random(dist, 1234567, 89, *t, a, b);
        const Floats s = host(y63), m = host(y100), v = host(y128);
        for (std::size_t i = 0; i < 63; ++i) BOOST_TEST(m[i] == s[i], "element " << i);
        for (std::size_t i = 64; i < 100; ++i) BOOST_TEST(m[i] == v[i], "element " << i);
        // The KAT block is block 0 of any tensor, vectorised or not.
        Tensor big = dev->alloc({256});
        dev->random(Distribution::uniform, 0, 0, big, 0.0f, 1.0f);
        BOOST_TEST(host(big)[1] == 0xe169c5p-24f);
    }
}

BOOST_AUTO_TEST_CASE(random_reproducible_and_history_free) {
    const Tensor first = dev->alloc({1000}), other = dev->alloc({1000}), again = dev->alloc({1000});
    dev->random(Distribution::normal, 7, 1, first, 0, 1);
    dev->random(Distribution::normal, 7, 2, other, 0, 1);
    dev->random(Distribution::uniform, 9, 1, again, 0, 1);  // unrelated draws in between
    dev->random(Distribution::normal, 7, 1, again, 0, 1);
    const Floats a = host(first), b = host(other), c = host(again);
    BOOST_TEST(a == c);
    std::size_t same = 0;
    for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
    BOOST_TEST(same == 0u);

    const Tensor seed8 = dev->alloc({1000});
    dev->random(Distribution::normal, 8, 1, seed8, 0, 1);
    BOOST_TEST(host(seed8) != a);

    // Another instance, and a shorter draw, give the same leading values.
    auto dev2 = load_cpu();
    const Tensor short_draw = dev2->alloc({13});
    dev2->random(Distribution::normal, 7, 1, short_draw, 0, 1);
    const Floats s = plexus::testing::to_host(*dev2, short_draw);
    BOOST_TEST(s == Floats(a.begin(), a.begin() + 13), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(random_distributions) {
    constexpr std::size_t n = 100000;
    const Tensor y = dev->alloc({n});

    dev->random(Distribution::uniform, 42, 0, y, -2.0f, 3.0f);
    Floats u = host(y);
    BOOST_TEST(*std::min_element(u.begin(), u.end()) >= -2.0f);
    BOOST_TEST(*std::max_element(u.begin(), u.end()) < 3.0f);
    BOOST_TEST(std::fabs(mean_of(u) - 0.5) < 0.025);                  // 5 standard errors
    BOOST_TEST(std::fabs(std_of(u) - 5.0 / std::sqrt(12.0)) < 0.02);  // 1.4434

    dev->random(Distribution::normal, 42, 1, y, 1.0f, 2.0f);
    Floats z = host(y);
    BOOST_TEST(std::fabs(mean_of(z) - 1.0) < 0.03);
    BOOST_TEST(std::fabs(std_of(z) - 2.0) < 0.03);
    std::size_t beyond = 0;  // P(|z - mean| > 2 sd) = 4.55 %
    for (float v : z) beyond += std::fabs(v - 1.0f) > 4.0f;
    BOOST_TEST(std::fabs(beyond / double(n) - 0.0455) < 0.005);
    double corr = 0.0;  // the cos and sin halves of each Box-Muller pair are independent
    for (std::size_t i = 0; i + 1 < n; i += 2) corr += (z[i] - 1.0) * (z[i + 1] - 1.0) / 4.0;
    BOOST_TEST(std::fabs(corr / (n / 2)) < 0.03);

    dev->random(Distribution::bernoulli, 42, 2, y, 0.3f, 0.0f);
    Floats m = host(y);
    BOOST_TEST(std::all_of(m.begin(), m.end(), [](float v) { return v == 0.0f || v == 1.0f; }));
    BOOST_TEST(std::fabs(mean_of(m) - 0.3) < 0.008);

    dev->random(Distribution::bernoulli, 42, 3, y, 0.0f, 0.0f);
    BOOST_TEST(mean_of(host(y)) == 0.0);
    dev->random(Distribution::bernoulli, 42, 3, y, 1.0f, 0.0f);
    BOOST_TEST(mean_of(host(y)) == 1.0);

    BOOST_CHECK_THROW(dev->random(Distribution::bernoulli, 1, 1, y, 1.5f, 0), DeviceError);
    BOOST_CHECK_THROW(dev->random(Distribution::uniform, 1, 1, y, 2.0f, 1.0f), DeviceError);
    BOOST_CHECK_THROW(dev->random(Distribution::normal, 1, 1, y, 0.0f, -1.0f), DeviceError);
}
BOOST_AUTO_TEST_SUITE_END()
