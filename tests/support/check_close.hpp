// Elementwise comparison of host values for the plugin tests: |got − want| ≤ tol·(1 + |want|),
// reporting the element that differs.
#pragma once

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <vector>

#ifndef PLEXUS_CHECK_CLOSE_TOLERANCE
#define PLEXUS_CHECK_CLOSE_TOLERANCE 1e-5f
#endif

namespace plexus::test {

inline void check_close(const std::vector<float>& got, const std::vector<float>& want,
                        float tol = PLEXUS_CHECK_CLOSE_TOLERANCE) {
    BOOST_REQUIRE_EQUAL(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        BOOST_TEST_CONTEXT("element " << i) {
            BOOST_TEST(std::abs(got[i] - want[i]) <= tol * (1.0f + std::abs(want[i])),
                       got[i] << " != " << want[i]);
        }
    }
}

}  // namespace plexus::test
