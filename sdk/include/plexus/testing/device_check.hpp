// Device conformance: one table of cases covering every primitive op of plexus/device.hpp
// (odd sizes, a single row or column, views at an offset, transposes, aliasing, beta = 0
// with NaN in the output) and every fused key of plexus/fused.hpp, each run on a reference
// device and on a candidate from the same seeded inputs and compared with a tolerance, as
// ggml's test-backend-ops does. It is how a backend author checks a new device:
//
//   auto cpu = plexus::testing::load<plexus::Device>("cpu");
//   auto mine = plexus::testing::load<plexus::Device>("mydevice", {"build/plugins"});
//   const auto report = plexus::testing::check_device(*cpu, *mine);
//   if (!report.passed()) std::cerr << plexus::testing::to_table(report, true);
//
// or, from the shell, `plexus devices --check mydevice --plugin-path build/plugins`.
// A new primitive op or fused key gets its cases in this one table
// (core/src/sdk/testing/device_cases.cpp and fused_cases.cpp), so every device is checked
// for it.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "plexus/device.hpp"
#include "plexus/export.hpp"

namespace plexus::testing {

/// One case of the table, run on both devices.
struct DeviceCheckRow {
    std::string op;          // e.g. "unary sigmoid in place", "gemm a^T", "adam.update amsgrad"
    std::string shape;       // e.g. "[65, 257]", "33x65x17" (M x N x K for a GEMM)
    double max_error = 0.0;  // the largest |candidate - reference| over every output element
    double rel = 0.0;        // tolerance: |candidate - reference| <= rel * |reference| + abs
    double abs = 0.0;
    bool passed = false;
    bool skipped = false;  // a fused key the candidate (or the reference) does not implement
    std::string detail;    // why it failed: the worst element, or the exception's message
};

struct DeviceCheckReport {
    std::string reference, candidate;  // the devices' names
    std::vector<DeviceCheckRow> rows;

    /// True when no row failed (skipped rows do not fail).
    PLEXUS_API bool passed() const;
    /// The distinct ops of the failed rows, in table order.
    PLEXUS_API std::vector<std::string> failed_ops() const;
    PLEXUS_API std::size_t failed_count() const;
};

struct DeviceCheckOptions {
    /// Run only the cases whose op starts with this ("gemm", "unary", "adam.update"); empty:
    /// all of them.
    std::string only;
    /// Seed of the first case's inputs; each case uses the next.
    unsigned seed = 1;
};

/// Runs every case of the conformance table on `reference` and `candidate` and compares
/// every tensor the case leaves (inputs too: ops may write in place). A fused case runs
/// through Device::try_fused on both and is skipped when either device does not list the
/// key in fused_keys(). An exception from either device fails that row with its message;
/// nothing propagates. Requires two distinct devices (they may be of the same kind).
PLEXUS_API DeviceCheckReport check_device(Device& reference, Device& candidate,
                                          const DeviceCheckOptions& options = {});

/// The report as a text table, one row per case: op, shape, max error, tolerance, result
/// (and why, for a failure); with `failures_only`, only the failed rows. Ends with a summary
/// line.
PLEXUS_API std::string to_table(const DeviceCheckReport& report, bool failures_only = false);

}  // namespace plexus::testing
