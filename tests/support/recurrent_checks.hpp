// The checks the recurrent layer plugins (simple_rnn, lstm, gru) share in their tests: PyTorch's
// outputs on the same weights, finite-difference gradients, the fused cell kernels against the
// primitive path, and no allocation after build(). Each test file calls them with its cell.
#pragma once

#include <boost/test/unit_test.hpp>
#include <array>
#include <cmath>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "check_close.hpp"
#include "layer_devices.hpp"
#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"

namespace plexus::test {

/// value[i] = ((i * mul) % mod - off) / div, as plugins/layers/lstm/torch_reference.py makes
/// inputs, weights and output gradients (exact in float: div is a power of two).
inline std::vector<float> pattern(std::size_t n, long mul, long mod, long off, long div) {
    std::vector<float> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<float>(static_cast<double>((static_cast<long>(i) * mul) % mod - off) /
                                  static_cast<double>(div));
    return v;
}

/// One case of a torch_reference.inc: the layer's spec line, x's shape, PyTorch's y and dx.
struct TorchCase {
    const char* spec;
    std::array<std::size_t, 3> x;
    std::vector<float> y, dx;
};

/// Each case on every device, with each spec suffix in `modes` (" fused=false": the primitive
/// path): the weights set as torch_reference.py sets them, y and dL/dx for L = sum(y * dy).
inline void check_torch_cases(const std::vector<TorchCase>& cases,
                              const std::vector<std::string>& modes) {
    for (const auto& [name, device] : layer_devices())
        for (const std::string& mode : modes)
            for (const TorchCase& c : cases) {
                BOOST_TEST_CONTEXT(name << ": " << c.spec << mode) {
                    auto layer = testing::load<Layer>(c.spec + mode);
                    const Shape in{c.x[0], c.x[1], c.x[2]};
                    const Shape out = layer->build(in, *device, {});
                    long k = 0;
                    for (Parameter* p : layer->parameters())
                        device->upload(p->value, pattern(p->value.numel(), 13 + 4 * k++, 17, 8, 16));
                    const Tensor x = testing::make_tensor(*device, in, pattern(in.numel(), 37, 23, 11, 8));
                    const Tensor y = device->alloc(out), dx = device->alloc(in);
                    const Tensor dy = testing::make_tensor(*device, out, pattern(out.numel(), 29, 19, 9, 4));
                    layer->forward(x, y, Mode::train);
                    layer->backward(x, y, dy, &dx);
                    check_close(testing::to_host(*device, y), c.y, 1e-5f);
                    check_close(testing::to_host(*device, dx), c.dx, 1e-4f);
                }
            }
}

/// Finite-difference gradients of `cell` (e.g. "lstm") with return_sequences on and off,
/// bidirectional, one step, a batch of one and `extra` options, with each suffix in `modes`.
inline void check_recurrent_gradients(const std::string& cell, const std::vector<std::string>& modes,
                                      const std::string& extra) {
    struct GradCase {
        std::string options;
        Shape input;
    };
    const std::vector<GradCase> cases = {
        {"units=3", {2, 4, 3}},
        {"units=3 return_sequences=true", {2, 4, 3}},
        {"units=2 bidirectional=true", {2, 3, 2}},
        {"units=2 return_sequences=true bidirectional=true", {2, 3, 2}},
        {"units=3 return_sequences=true", {2, 1, 2}},   // one step
        {"units=3 bidirectional=true", {1, 4, 2}},      // a batch of one
        {"units=2 return_sequences=true " + extra, {2, 3, 2}},
    };
    for (const auto& [name, device] : layer_devices())
        for (const std::string& mode : modes)
            for (const GradCase& c : cases) {
                const std::string spec = cell + " " + c.options + mode;
                BOOST_TEST_CONTEXT(name << ": " << spec << " on " << c.input.str()) {
                    auto layer = testing::load<Layer>(spec);
                    const auto r = testing::check_layer(*layer, *device, c.input, {.seed = 5});
                    // 2e-2, not the 1e-2 of feed-forward layers: each output is a chain of a
                    // few dozen float32 ops, and a gradient near the checker's 1e-3 floor
                    // carries that rounding in its central difference (seen: 1.04e-2).
                    BOOST_TEST(r.max_rel_error < 2e-2, "worst " << r.worst << ": " << r.max_rel_error);
                    BOOST_TEST(r.checked >= c.input.numel() + 3u);  // the input and the weights
                }
            }
}

namespace detail {
struct PassResult {
    std::vector<float> y, dx;
    std::vector<std::vector<float>> grads;
};

inline PassResult run_pass(Device& device, const std::string& spec, const Shape& in) {
    auto layer = testing::load<Layer>(spec);
    const Shape out = layer->build(in, device, {.seed = 11});
    const Tensor x = testing::make_tensor(device, in, pattern(in.numel(), 37, 23, 11, 8));
    const Tensor y = device.alloc(out), dx = device.alloc(in);
    const Tensor dy = testing::make_tensor(device, out, pattern(out.numel(), 29, 19, 9, 4));
    layer->forward(x, y, Mode::train);
    layer->backward(x, y, dy, &dx);
    PassResult r{testing::to_host(device, y), testing::to_host(device, dx), {}};
    for (Parameter* p : layer->parameters()) r.grads.push_back(testing::to_host(device, p->grad));
    return r;
}
}  // namespace detail

/// The fused cell kernels (when the device has them) against the primitive path (fused=false)
/// on the same seed: y, dx and every parameter gradient; and the fused keys did run.
inline void check_fused_matches_primitive(const std::string& cell, fused::Key forward_key,
                                          const std::vector<std::string>& options) {
    for (const auto& [name, device] : layer_devices())
        for (const std::string& option : options) {
            const std::string spec = cell + " " + option;
            BOOST_TEST_CONTEXT(name << ": " << spec) {
                BOOST_TEST_REQUIRE(device->fused_keys().contains(forward_key));
                const Shape in{5, 6, 3};
                const auto key = static_cast<std::size_t>(forward_key);
                const auto before = device->counters().fused_runs[key];
                const detail::PassResult f = detail::run_pass(*device, spec, in);
                BOOST_TEST(device->counters().fused_runs[key] >= before + 6u);  // one per step
                const auto after = device->counters().fused_runs[key];
                const detail::PassResult p = detail::run_pass(*device, spec + " fused=false", in);
                BOOST_TEST(device->counters().fused_runs[key] == after);
                check_close(f.y, p.y, 1e-5f);
                check_close(f.dx, p.dx, 1e-5f);
                BOOST_TEST_REQUIRE(f.grads.size() == p.grads.size());
                for (std::size_t i = 0; i < f.grads.size(); ++i) check_close(f.grads[i], p.grads[i], 1e-5f);
            }
        }
}

/// After build(), forward and backward allocate nothing, for the built batch and a smaller one.
inline void check_no_allocation(const std::string& spec) {
    for (const auto& [name, device] : layer_devices()) {
        BOOST_TEST_CONTEXT(name << ": " << spec) {
            auto layer = testing::load<Layer>(spec);
            const Shape in{4, 5, 3};
            const Shape out = layer->build(in, *device, {});
            const Tensor x = device->alloc(in), y = device->alloc(out), dx = device->alloc(in);
            const Tensor dy = device->alloc(out);
            device->random(Distribution::uniform, 1, 0, x, -1, 1);
            device->random(Distribution::uniform, 2, 0, dy, -1, 1);
            const auto before = device->counters().allocations;
            for (const std::size_t n : {4u, 3u, 4u}) {
                layer->forward(x.rows(0, n), y.rows(0, n), Mode::train);
                layer->backward(x.rows(0, n), y.rows(0, n), dy.rows(0, n), nullptr);
                const Tensor dxn = dx.rows(0, n);
                layer->backward(x.rows(0, n), y.rows(0, n), dy.rows(0, n), &dxn);
                layer->forward(x.rows(0, n), y.rows(0, n), Mode::infer);
            }
            BOOST_TEST(device->counters().allocations == before);
        }
    }
}

}  // namespace plexus::test
