// plexus::testing::check_device: runs the conformance table (device_cases.cpp,
// fused_cases.cpp) on two devices and compares what each case leaves behind.
#include "plexus/testing/device_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "device_cases.hpp"
#include "plexus/testing.hpp"

namespace plexus::testing {
namespace {

using detail::Case;
using detail::Operand;
using Floats = std::vector<float>;

Floats make_values(const Operand& o, std::mt19937& rng) {
    if (!o.values.empty()) return o.values;
    std::uniform_real_distribution<float> dist(o.lo, o.hi);
    Floats v(o.shape.numel());
    for (float& x : v) x = dist(rng);
    return v;
}

// Runs a case on a device from the same seeded inputs; returns every tensor afterwards
// (inputs too, since ops may write in place).
std::vector<Floats> run_case(Device& device, const Case& c, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<Tensor> tensors;
    for (const auto* list : {&c.inputs, &c.outputs})
        for (const Operand& o : *list)
            // Empty operands are only allocated: there is nothing to upload or download.
            tensors.push_back(o.shape.numel() == 0
                                  ? device.alloc(o.shape)
                                  : make_tensor(device, o.shape, make_values(o, rng)));
    c.run(device, tensors);
    std::vector<Floats> out;
    for (const Tensor& t : tensors) out.push_back(t.numel() ? to_host(device, t) : Floats());
    return out;
}

// Fills the row's error and verdict from the two devices' tensors; a failure names the
// element furthest past its tolerance.
void compare(const std::vector<Floats>& want, const std::vector<Floats>& got, DeviceCheckRow& row) {
    std::size_t bad = 0, total = 0;
    double worst_excess = -1.0;
    for (std::size_t t = 0; t < want.size(); ++t) {
        total += want[t].size();
        for (std::size_t i = 0; i < want[t].size(); ++i) {
            const float w = want[t][i], g = got[t][i];
            // Equal values, equal infinities included (inf - inf would be NaN), are exact.
            if (w == g || (std::isnan(w) && std::isnan(g))) continue;
            // A NaN on one side, or an infinity against anything else, is an infinite error
            // (and so fails whatever the tolerance).
            double err = std::fabs(double(g) - double(w));
            if (std::isnan(err) || std::isinf(w) || std::isinf(g)) err = INFINITY;
            row.max_error = std::max(row.max_error, err);
            double excess = err - (row.rel * std::fabs(w) + row.abs);
            if (std::isnan(excess)) excess = INFINITY;  // inf - inf: w itself is infinite
            if (excess <= 0.0) continue;
            ++bad;
            if (excess > worst_excess) {
                worst_excess = excess;
                row.detail =
                    fmt::format("tensor {} element {}: candidate {}, reference {}", t, i, g, w);
            }
        }
    }
    row.passed = bad == 0;
    if (bad) row.detail += fmt::format(" ({} of {} elements differ)", bad, total);
}

DeviceCheckRow check_case(Device& reference, Device& candidate, const Case& c, unsigned seed) {
    DeviceCheckRow row{c.op, c.shape, 0.0, c.rel, c.abs, false, false, {}};
    if (c.key &&
        !(reference.fused_keys().contains(*c.key) && candidate.fused_keys().contains(*c.key))) {
        row.skipped = true;
        row.passed = true;
        row.detail =
            fmt::format("{} does not implement {}",
                        candidate.fused_keys().contains(*c.key) ? "the reference" : "the candidate",
                        fused::key_name(*c.key));
        return row;
    }
    std::vector<Floats> want;
    try {
        want = run_case(reference, c, seed);
    } catch (const std::exception& e) {
        row.detail = fmt::format("the reference failed: {}", e.what());
        return row;
    }
    try {
        compare(want, run_case(candidate, c, seed), row);
    } catch (const std::exception& e) {
        row.detail = e.what();
    }
    return row;
}

}  // namespace

bool DeviceCheckReport::passed() const {
    return failed_count() == 0;
}

std::size_t DeviceCheckReport::failed_count() const {
    return static_cast<std::size_t>(
        std::count_if(rows.begin(), rows.end(), [](const DeviceCheckRow& r) { return !r.passed; }));
}

std::vector<std::string> DeviceCheckReport::failed_ops() const {
    std::vector<std::string> ops;
    for (const DeviceCheckRow& r : rows)
        if (!r.passed && std::find(ops.begin(), ops.end(), r.op) == ops.end()) ops.push_back(r.op);
    return ops;
}

DeviceCheckReport check_device(Device& reference, Device& candidate,
                               const DeviceCheckOptions& options) {
    DeviceCheckReport report{reference.name(), candidate.name(), {}};
    std::vector<Case> cases = detail::primitive_cases();
    for (Case& c : detail::fused_cases()) cases.push_back(std::move(c));
    unsigned seed = options.seed;
    for (const Case& c : cases) {
        const unsigned case_seed = seed++;  // a case's inputs do not depend on the filter
        if (c.op.rfind(options.only, 0) != 0) continue;
        report.rows.push_back(check_case(reference, candidate, c, case_seed));
    }
    return report;
}

std::string to_table(const DeviceCheckReport& report, bool failures_only) {
    std::string out = fmt::format("{:<46} {:<12} {:>10} {:>16}  {}\n", "op", "shape", "max error",
                                  "tolerance", "result");
    std::size_t skipped = 0;
    for (const DeviceCheckRow& r : report.rows) {
        skipped += r.skipped;
        if (failures_only && r.passed) continue;
        const std::string tolerance = fmt::format("{:g}|ref|+{:g}", r.rel, r.abs);
        const std::string result = r.skipped  ? "skip: " + r.detail
                                   : r.passed ? std::string("ok")
                                              : "FAIL: " + r.detail;
        out += fmt::format("{:<46} {:<12} {:>10.3g} {:>16}  {}\n", r.op, r.shape,
                           r.skipped ? 0.0 : r.max_error, tolerance, result);
    }
    out += fmt::format("{} against {}: {} cases, {} passed, {} failed, {} skipped\n",
                       report.candidate, report.reference, report.rows.size(),
                       report.rows.size() - report.failed_count() - skipped, report.failed_count(),
                       skipped);
    return out;
}

}  // namespace plexus::testing
