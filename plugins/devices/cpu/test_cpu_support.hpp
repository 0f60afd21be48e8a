// Helpers shared by the CPU device's test files (test_cpu*.cpp, one executable).
#pragma once

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "plexus/device.hpp"
#include "plexus/error.hpp"
#include "plexus/testing.hpp"

namespace cpu_test {

using plexus::Axis;
using plexus::BinaryOp;
using plexus::Device;
using plexus::DeviceError;
using plexus::Distribution;
using plexus::ReduceOp;
using plexus::Shape;
using plexus::Tensor;
using plexus::Transpose;
using plexus::UnaryOp;
using Floats = std::vector<float>;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

inline std::shared_ptr<Device> load_cpu(const std::string& spec = "cpu") {
    return plexus::testing::load<Device>(spec, {PLEXUS_TEST_PLUGIN_DIR});
}

// |got - want| <= tol * max(1, |want|): absolute near zero, relative for large values.
inline void check_close(const Floats& got, const Floats& want, float tol = 1e-5f) {
    BOOST_TEST_REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        const bool ok = std::fabs(got[i] - want[i]) <= tol * std::max(1.0f, std::fabs(want[i]));
        BOOST_TEST(ok, "element " << i << ": got " << got[i] << ", want " << want[i]);
    }
}

inline bool message_contains(const DeviceError& e, const std::string& part) {
    return std::string(e.what()).find(part) != std::string::npos;
}

// The suites' fixture: one CPU device.
struct Cpu {
    std::shared_ptr<Device> dev = load_cpu();
    Tensor make(const Shape& shape, const Floats& values) {
        return plexus::testing::make_tensor(*dev, shape, values);
    }
    Floats host(const Tensor& t) { return plexus::testing::to_host(*dev, t); }
};

inline Floats pattern(std::size_t n, float scale, float shift) {
    Floats v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = scale * std::sin(0.37f * static_cast<float>(i) + shift);
    return v;
}

inline Floats run_on(Device& d, const std::function<Tensor(Device&)>& op) {
    const Tensor y = op(d);
    Floats out(y.numel());
    d.download(y, out);
    return out;
}

inline Tensor upload_to(Device& d, const Shape& shape, const Floats& values) {
    Tensor t = d.alloc(shape);
    d.upload(t, values);
    return t;
}

}  // namespace cpu_test
