// The CPU device's two instruction-set variants and its threads.
#include "test_cpu_support.hpp"

using namespace cpu_test;

BOOST_FIXTURE_TEST_SUITE(cpu_variants, Cpu)

BOOST_AUTO_TEST_CASE(baseline_and_avx2_variants_compute_alike) {
    auto base = load_cpu("cpu isa=baseline");
    BOOST_TEST(base->description().find("baseline loops") != std::string::npos, base->description());
    std::shared_ptr<Device> wide;
    try {
        wide = load_cpu("cpu isa=avx2");
    } catch (const std::exception& e) {
        BOOST_TEST_MESSAGE("no AVX2 here, only the baseline variant is checked: " << e.what());
        return;
    }
    BOOST_TEST(wide->description().find("AVX2 loops") != std::string::npos, wide->description());
    const std::size_t rows = 37, cols = 53;  // odd sizes: every vector loop has a tail
    const Floats a = pattern(rows * cols, 3.0f, 0.1f), b = pattern(rows * cols, 2.0f, 1.3f);
    const Floats row = pattern(cols, 1.5f, 0.7f);
    // Elementwise ops round alike (no FMA contraction in either variant): bit-identical.
    const std::vector<std::function<Tensor(Device&)>> exact = {
        [&](Device& d) {
            Tensor x = upload_to(d, {rows, cols}, a), y = d.alloc({rows, cols});
            d.unary(UnaryOp::sigmoid, x, y);
            return y;
        },
        [&](Device& d) {
            Tensor x = upload_to(d, {rows, cols}, a), y = d.alloc({rows, cols});
            d.unary(UnaryOp::sqrt, x, y);  // NaN for negatives in both
            d.unary(UnaryOp::abs, y, y);
            return y;
        },
        [&](Device& d) {
            Tensor x = upload_to(d, {rows, cols}, a), r = upload_to(d, {cols}, row), y = d.alloc({rows, cols});
            d.binary(BinaryOp::add, x, r, y);
            d.binary(BinaryOp::relu_backward, y, x, y);
            return y;
        },
        [&](Device& d) {
            Tensor x = upload_to(d, {rows, cols}, a), z = upload_to(d, {rows, cols}, b);
            d.axpby(0.25f, x, -1.5f, z);
            d.binary(BinaryOp::div, z, x, z);
            return z;
        },
        [&](Device& d) {
            Tensor x = upload_to(d, {rows, cols}, a), y = d.alloc({rows, cols});
            d.softmax(x, y, true);
            return y;
        },
    };
    for (std::size_t i = 0; i < exact.size(); ++i) {
        const Floats x = run_on(*base, exact[i]), y = run_on(*wide, exact[i]);
        BOOST_TEST_REQUIRE(x.size() == y.size());
        for (std::size_t j = 0; j < x.size(); ++j)
            BOOST_TEST((x[j] == y[j] || (std::isnan(x[j]) && std::isnan(y[j]))),
                       "case " << i << " element " << j << ": " << x[j] << " vs " << y[j]);
    }
    // Sums group their terms by the vector width: equal within float rounding.
    for (Axis axis : {Axis::rows, Axis::cols, Axis::all}) {
        const auto sum = [&](Device& d) {
            Tensor x = upload_to(d, {rows, cols}, a);
            Tensor y = d.alloc({axis == Axis::rows ? cols : axis == Axis::cols ? rows : 1});
            d.reduce(ReduceOp::sum, x, axis, y);
            return y;
        };
        check_close(run_on(*wide, sum), run_on(*base, sum), 1e-6f);
    }
}

BOOST_AUTO_TEST_CASE(threads_parameter) {
    BOOST_CHECK_THROW(load_cpu("cpu threads=-1"), plexus::ParamError);
    // Process-wide, so this case runs last.
    auto one = load_cpu("cpu threads=1");
    BOOST_TEST(one->description().find("1 thread)") != std::string::npos, one->description());
}
BOOST_AUTO_TEST_SUITE_END()
