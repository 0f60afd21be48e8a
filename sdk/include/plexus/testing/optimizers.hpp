// Test helpers for optimizer plugins: an optimizer with parameters of its own on the cpu
// device, and drivers that step it and compare the weights with hand-computed values, through
// both the device's fused kernel and the primitive reference path. Header-only and free of any
// test framework: a comparison returns "" when it holds and otherwise says what differs, so a
// test writes BOOST_TEST(check_steps(...) == "") or its framework's equivalent.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"

namespace plexus::testing {

using Values = std::vector<float>;

/// Compares `got` with `want` element by element, |got − want| ≤ tolerance·(1 + |want|).
/// Returns "" when they match, else the size difference or the first element that differs.
inline std::string mismatch(const Values& got, const Values& want, float tolerance = 2e-6f) {
    std::ostringstream out;
    if (got.size() != want.size()) {
        out << got.size() << " values where " << want.size() << " were expected";
        return out.str();
    }
    for (std::size_t i = 0; i < got.size(); ++i)
        if (!(std::abs(got[i] - want[i]) <= tolerance * (1.0f + std::abs(want[i])))) {
            out.precision(9);
            out << "element " << i << ": " << got[i] << " != " << want[i];
            return out.str();
        }
    return "";
}

/// An optimizer loaded from `spec` with parameters of its own on a cpu device.
/// Requires: the optimizer and the cpu device are on the plugin search path.
class OptimizerRig {
public:
    std::shared_ptr<Device> device = load<Device>("cpu");
    std::shared_ptr<Optimizer> optimizer;
    std::deque<Parameter> storage;  // a deque keeps the addresses `params` points at
    std::vector<Parameter*> params;

    explicit OptimizerRig(const std::string& spec)
        : optimizer(load<Optimizer>(spec)), spec_(spec) {}

    /// Adds a 1-D parameter holding `value` with a zero gradient; ensures it is in `params`.
    Parameter& add(const std::string& name, const Values& value, bool trainable = true) {
        const Shape shape{value.size()};
        storage.push_back({name, make_tensor(*device, shape, value), device->alloc(shape)});
        storage.back().trainable = trainable;
        device->fill(storage.back().grad, 0.0f);
        params.push_back(&storage.back());
        return storage.back();
    }
    /// Builds the optimizer for the parameters added so far.
    void build() { optimizer->build(params, *device); }
    /// Sets `p`'s gradient. Requires: g.size() == p's element count.
    void set_grad(Parameter& p, const Values& g) { device->upload(p.grad, g); }
    /// One step at the optimizer's configured learning rate. Throws std::runtime_error if
    /// the step allocated device memory (a step must reuse what build() allocated).
    void step() {
        const auto before = device->counters().allocations;
        optimizer->step(params, optimizer->learning_rate());
        if (device->counters().allocations != before)
            throw std::runtime_error("a step of '" + spec_ + "' allocated device memory");
    }
    /// The current values of `p`.
    Values value(const Parameter& p) { return to_host(*device, p.value); }
    /// The state tensor `name` (as state() names it). Throws std::runtime_error if none.
    Values state(const std::string& name) {
        for (const auto& s : optimizer->state())
            if (s.name == name) return to_host(*device, s.value);
        throw std::runtime_error("'" + spec_ + "' has no state tensor named '" + name + "'");
    }

private:
    std::string spec_;
};

/// Runs `spec` on one parameter starting at `w0` for grads.size() steps, with a frozen
/// parameter beside it that must not move, and compares the weights after each step with
/// `want`; then the "step" state with the number of steps. Runs twice, with fused=true and
/// fused=false, so the device's fused kernel (where the optimizer has one) and the primitive
/// reference path must both match. Returns "" when all match, else the first difference.
/// Requires: grads.size() == want.size().
inline std::string check_steps(const std::string& spec, const Values& w0,
                               const std::vector<Values>& grads, const std::vector<Values>& want,
                               float tolerance = 2e-6f) {
    if (grads.size() != want.size()) return "check_steps: as many wanted weights as gradients";
    for (const char* fused : {" fused=true", " fused=false"}) {
        const std::string where = spec + fused;
        OptimizerRig rig(where);
        Parameter& w = rig.add("w", w0);
        Parameter& frozen = rig.add("frozen", {5.0f, -6.0f}, false);
        rig.build();
        rig.set_grad(frozen, {1.0f, 1.0f});
        for (std::size_t t = 0; t < grads.size(); ++t) {
            rig.set_grad(w, grads[t]);
            rig.step();
            if (auto diff = mismatch(rig.value(w), want[t], tolerance); !diff.empty())
                return where + ", step " + std::to_string(t + 1) + ": " + diff;
        }
        if (auto diff = mismatch(rig.value(frozen), {5.0f, -6.0f}, 0.0f); !diff.empty())
            return where + ": the frozen parameter moved: " + diff;
        if (auto diff = mismatch(rig.state("step"), {static_cast<float>(grads.size())}, 0.0f);
            !diff.empty())
            return where + ": step count: " + diff;
    }
    return "";
}

/// The names state() reports after build() on parameters "a" (2 elements) and "b" (1).
inline std::vector<std::string> state_names(const std::string& spec) {
    OptimizerRig rig(spec);
    rig.add("a", {1.0f, 2.0f});
    rig.add("b", {3.0f});
    rig.build();
    std::vector<std::string> names;
    for (const auto& s : rig.optimizer->state()) names.push_back(s.name);
    return names;
}

/// Steps `spec` with fused=true and with fused=false on the same random problem (1000
/// weights, gradients of growing spread so that clipping and AMSGrad's maximum engage) and
/// compares the weights after every step, then every state tensor. Returns "" when they
/// agree within 1e-6 (weights) and 2e-6 (state), else the first difference.
inline std::string check_fused_matches_primitive(const std::string& spec, int steps = 5) {
    OptimizerRig fused(spec + " fused=true"), primitive(spec + " fused=false");
    const Shape shape{40, 25};
    for (OptimizerRig* rig : {&fused, &primitive}) {
        rig->storage.push_back({"w", rig->device->alloc(shape), rig->device->alloc(shape)});
        rig->device->random(Distribution::normal, 7, 0, rig->storage.back().value, 0, 1);
        rig->params.push_back(&rig->storage.back());
        rig->build();
    }
    for (int t = 0; t < steps; ++t) {
        for (OptimizerRig* rig : {&fused, &primitive}) {
            rig->device->random(Distribution::normal, 11, static_cast<std::uint64_t>(t),
                                rig->params[0]->grad, 0.1f, 0.5f * static_cast<float>(t + 1));
            rig->step();
        }
        if (auto diff = mismatch(fused.value(*fused.params[0]),
                                 primitive.value(*primitive.params[0]), 1e-6f);
            !diff.empty())
            return spec + ", step " + std::to_string(t + 1) + ", fused vs primitive: " + diff;
    }
    for (const auto& s : fused.optimizer->state())
        if (auto diff = mismatch(fused.state(s.name), primitive.state(s.name)); !diff.empty())
            return spec + ", state " + s.name + ", fused vs primitive: " + diff;
    return "";
}

}  // namespace plexus::testing
