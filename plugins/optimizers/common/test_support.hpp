// Helpers shared by the optimizer plugins' tests (test_<name>.cpp include it by a relative
// path): run an optimizer for a few steps on parameters built here, on the CPU device, and
// compare with hand-computed values.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"

namespace optimizer_test {

using plexus::testing::load;
using plexus::testing::make_tensor;
using plexus::testing::to_host;
using Values = std::vector<float>;

inline void check_close(const Values& got, const Values& want, float tolerance = 2e-6f) {
    BOOST_REQUIRE_EQUAL(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        BOOST_TEST_CONTEXT("element " << i) {
            BOOST_TEST(std::abs(got[i] - want[i]) <= tolerance * (1.0f + std::abs(want[i])),
                       got[i] << " != " << want[i]);
        }
    }
}

// An optimizer with its own parameters on a CPU device.
struct Rig {
    std::shared_ptr<plexus::Device> device = load<plexus::Device>("cpu");
    std::shared_ptr<plexus::Optimizer> optimizer;
    std::deque<plexus::Parameter> storage;  // stable addresses for the pointers below
    std::vector<plexus::Parameter*> params;

    explicit Rig(const std::string& spec) : optimizer(load<plexus::Optimizer>(spec)) {}

    plexus::Parameter& add(const std::string& name, const Values& value, bool trainable = true) {
        const plexus::Shape shape{value.size()};
        storage.push_back({name, make_tensor(*device, shape, value), device->alloc(shape)});
        storage.back().trainable = trainable;
        device->fill(storage.back().grad, 0.0f);
        params.push_back(&storage.back());
        return storage.back();
    }
    void build() { optimizer->build(params, *device); }
    void set_grad(plexus::Parameter& p, const Values& g) { device->upload(p.grad, g); }
    // One step at the configured learning rate; checks that it allocates nothing.
    void step() {
        const auto before = device->counters().allocations;
        optimizer->step(params, optimizer->learning_rate());
        BOOST_TEST(device->counters().allocations == before);
    }
    Values value(const plexus::Parameter& p) { return to_host(*device, p.value); }
    Values state(const std::string& name) {
        for (const auto& s : optimizer->state())
            if (s.name == name) return to_host(*device, s.value);
        BOOST_FAIL("no state tensor named " << name);
        return {};
    }
};

// Runs `spec` on one parameter starting at `w0` for grads.size() steps, with a frozen
// parameter beside it that must not move, and checks the weights after each step against
// `want`. Runs twice, with fused=true and fused=false, so the device's fused kernel (where
// the optimizer has one) and the primitive reference path must both match.
inline void check_steps(const std::string& spec, const Values& w0, const std::vector<Values>& grads,
                        const std::vector<Values>& want, float tolerance = 2e-6f) {
    BOOST_REQUIRE_EQUAL(grads.size(), want.size());
    for (const char* fused : {" fused=true", " fused=false"}) {
        BOOST_TEST_CONTEXT(spec << fused) {
            Rig rig(spec + fused);
            plexus::Parameter& w = rig.add("w", w0);
            plexus::Parameter& frozen = rig.add("frozen", {5.0f, -6.0f}, false);
            rig.build();
            rig.set_grad(frozen, {1.0f, 1.0f});
            for (std::size_t t = 0; t < grads.size(); ++t) {
                BOOST_TEST_CONTEXT("step " << t + 1) {
                    rig.set_grad(w, grads[t]);
                    rig.step();
                    check_close(rig.value(w), want[t], tolerance);
                }
            }
            check_close(rig.value(frozen), {5.0f, -6.0f}, 0.0f);
            check_close(rig.state("step"), {static_cast<float>(grads.size())}, 0.0f);
        }
    }
}

// The names state() reports after build() on parameters "a" (2 elements) and "b" (1).
inline std::vector<std::string> state_names(const std::string& spec) {
    Rig rig(spec);
    rig.add("a", {1.0f, 2.0f});
    rig.add("b", {3.0f});
    rig.build();
    std::vector<std::string> names;
    for (const auto& s : rig.optimizer->state()) names.push_back(s.name);
    return names;
}

// Same random problem, fused path against primitive path: `steps` steps on 1000 weights.
inline void check_fused_matches_primitive(const std::string& spec, int steps = 5) {
    Rig fused(spec + " fused=true"), primitive(spec + " fused=false");
    const plexus::Shape shape{40, 25};
    for (Rig* rig : {&fused, &primitive}) {
        rig->storage.push_back({"w", rig->device->alloc(shape), rig->device->alloc(shape)});
        rig->device->random(plexus::Distribution::normal, 7, 0, rig->storage.back().value, 0, 1);
        rig->params.push_back(&rig->storage.back());
        rig->build();
    }
    for (int t = 0; t < steps; ++t) {
        for (Rig* rig : {&fused, &primitive}) {
            // Gradients of growing spread, so clipping and AMSGrad's maximum both engage.
            rig->device->random(plexus::Distribution::normal, 11, static_cast<std::uint64_t>(t),
                                rig->params[0]->grad, 0.1f, 0.5f * static_cast<float>(t + 1));
            rig->step();
        }
        check_close(fused.value(*fused.params[0]), primitive.value(*primitive.params[0]), 1e-6f);
    }
    for (const auto& s : fused.optimizer->state())
        BOOST_TEST_CONTEXT(s.name) { check_close(fused.state(s.name), primitive.state(s.name)); }
}

}  // namespace optimizer_test
