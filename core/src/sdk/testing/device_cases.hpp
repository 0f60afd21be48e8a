// The conformance table behind plexus::testing::check_device (plexus/testing/device_check.hpp):
// each case names an op, the tensors it starts from and what it runs on them.
#pragma once

#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "plexus/device.hpp"
#include "plexus/fused.hpp"

namespace plexus::testing::detail {

inline constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

/// One operand: its shape and how its host values are made.
struct Operand {
    Shape shape;
    float lo = -2.0f, hi = 2.0f;     // uniform values in [lo, hi]
    std::vector<float> values = {};  // used instead when not empty
};

/// Runs on a device given the tensors made from `inputs`, then `outputs`, in that order.
using CaseRun = std::function<void(Device&, const std::vector<Tensor>&)>;

struct Case {
    std::string op;
    std::string shape;
    std::vector<Operand> inputs;   // tensors passed to `run` first
    std::vector<Operand> outputs;  // then these (initial values too: some ops read them)
    CaseRun run;
    double rel = 1e-4;  // |got - want| <= rel * |want| + abs
    double abs = 1e-5;
    std::optional<fused::Key> key = std::nullopt;  // set for a fused kernel's case
};

/// Every primitive op of Device (device_cases.cpp).
std::vector<Case> primitive_cases();
/// Appends the window ops' cases (window_cases.cpp).
void window_cases(std::vector<Case>& cases);
/// Every fused key of plexus/fused.hpp (fused_cases.cpp).
std::vector<Case> fused_cases();

}  // namespace plexus::testing::detail
