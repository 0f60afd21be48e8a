// The device conformance harness (plexus/testing/device_check.hpp) and `plexus devices
// --check`: the table covers every primitive op and fused key, every device plugin the build
// has passes it, and a device with one wrong op (tests/fixtures/wrong_device.cpp) fails
// naming that op.
#define BOOST_TEST_MODULE device_check
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "each_device.hpp"
#include "plexus/core/registry/registry.hpp"
#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"

namespace {

using plexus::Device;
using plexus::testing::check_device;
using plexus::testing::DeviceCheckReport;
using plexus::testing::load;

const std::string kWrongDir = std::string(PLEXUS_TEST_FIXTURE_DIR) + "/wrong_device";

struct CacheInBuildTree {
    CacheInBuildTree() {
        ::setenv("XDG_CACHE_HOME",
                 (std::string(PLEXUS_TEST_BUILD_DIR) + "/tests/opencl-cache").c_str(), 1);
    }
};
BOOST_TEST_GLOBAL_FIXTURE(CacheInBuildTree);

std::shared_ptr<Device> cpu() {
    return load<Device>("cpu", {PLEXUS_TEST_PLUGIN_DIR});
}

bool has_op(const DeviceCheckReport& r, const std::string& prefix) {
    return std::any_of(r.rows.begin(), r.rows.end(), [&](const auto& row) {
        return row.op.rfind(prefix, 0) == 0 && !row.skipped;
    });
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(cpu_against_cpu_passes_and_covers_every_op) {
    auto a = cpu(), b = cpu();
    const DeviceCheckReport r = check_device(*a, *b);
    BOOST_TEST(r.passed(), plexus::testing::to_table(r, true));
    BOOST_TEST(r.reference == "cpu");
    // Every value of device.hpp's op enums, spelt as the table spells them, so a new op
    // without cases fails here.
    std::vector<std::string> ops;
    for (std::size_t i = 0; i < plexus::kUnaryOpCount; ++i)
        ops.push_back("unary " + std::string(plexus::op_name(static_cast<plexus::UnaryOp>(i))));
    for (std::size_t i = 0; i < plexus::kBinaryOpCount; ++i)
        ops.push_back("binary " + std::string(plexus::op_name(static_cast<plexus::BinaryOp>(i))));
    for (std::size_t i = 0; i < plexus::kReduceOpCount; ++i)
        ops.push_back("reduce " + std::string(plexus::op_name(static_cast<plexus::ReduceOp>(i))));
    for (std::size_t i = 0; i < plexus::kDistributionCount; ++i)
        ops.push_back("random " +
                      std::string(plexus::op_name(static_cast<plexus::Distribution>(i))));
    // The ops that take no enum.
    for (const char* op : {"gemm", "gemm a^T", "gemm b^T", "gemm a^T b^T", "fill", "copy", "axpby",
                           "softmax", "log_softmax", "softmax_backward"})
        ops.emplace_back(op);
    for (const std::string& op : ops) BOOST_TEST(has_op(r, op), "no case for " << op);
    BOOST_TEST(!has_op(r, "unary ?"));  // a value outside an enum's names
    // Infinities both devices agree on are exact matches (1/0, log 0).
    for (const char* op : {"unary reciprocal of zero", "unary log of zero"})
        BOOST_TEST(has_op(r, op), "no case for " << op);
    for (plexus::fused::Key key : plexus::fused::kAllKeys)
        BOOST_TEST(has_op(r, std::string(plexus::fused::key_name(key))),
                   "no case for " << plexus::fused::key_name(key));
}

BOOST_AUTO_TEST_CASE(a_wrong_op_fails_its_rows_and_only_those) {
    auto reference = cpu();
    auto wrong = load<Device>("wrong_tanh", {kWrongDir});
    const DeviceCheckReport r = check_device(*reference, *wrong);
    const std::vector<std::string> want = {"unary tanh", "unary tanh in place"};
    BOOST_TEST(r.failed_ops() == want, boost::test_tools::per_element());
    for (const auto& row : r.rows)
        if (!row.passed) {
            BOOST_TEST(row.max_error > 0.0);
            BOOST_TEST(contains(row.detail, "candidate"), row.detail);
        }
    // It lists no fused keys: those rows are skipped, not failed.
    std::size_t skipped = 0;
    for (const auto& row : r.rows) {
        const bool fused = std::any_of(
            plexus::fused::kAllKeys.begin(), plexus::fused::kAllKeys.end(),
            [&](auto key) { return row.op.rfind(plexus::fused::key_name(key), 0) == 0; });
        BOOST_TEST(row.skipped == fused, row.op);
        skipped += row.skipped;
    }
    BOOST_TEST(skipped > 0u);
    // --only narrows the table to one op.
    const DeviceCheckReport gemm = check_device(*reference, *wrong, {.only = "gemm"});
    BOOST_TEST(gemm.passed());
    BOOST_TEST(std::all_of(gemm.rows.begin(), gemm.rows.end(),
                           [](const auto& row) { return row.op.rfind("gemm", 0) == 0; }));
}

BOOST_AUTO_TEST_CASE(plexus_devices_check_fails_naming_the_wrong_op) {
    const auto r =
        plexus::test::run_plexus("devices --check wrong_tanh --plugin-path '" + kWrongDir + "'");
    BOOST_TEST(r.exit_code == 1, r.err);
    BOOST_TEST(contains(r.err, "wrong_tanh differs from the cpu device in 6 of"), r.err);
    BOOST_TEST(contains(r.err, ": unary tanh, unary tanh in place\n"), r.err);
    BOOST_TEST(contains(r.out, "FAIL: tensor 1 element"), r.out);
    BOOST_TEST(contains(r.out, "wrong_tanh against cpu:"), r.out);
}

BOOST_AUTO_TEST_CASE(plexus_devices_check_cpu_passes) {
    const auto r = plexus::test::run_plexus("devices --check cpu");
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(contains(r.out, "op "), r.out.substr(0, 200));
    BOOST_TEST(contains(r.out, " 0 failed, 0 skipped\n"), r.out.substr(r.out.size() - 200));
    const auto json = plexus::test::run_plexus("devices --check cpu --only adam.update --json");
    BOOST_TEST(json.exit_code == 0, json.err);
    BOOST_TEST(contains(json.out, "\"op\": \"adam.update amsgrad\""), json.out);
    const auto none = plexus::test::run_plexus("devices --check cpu --only nosuchop");
    BOOST_TEST(none.exit_code != 0);
    BOOST_TEST(contains(none.err, "--only 'nosuchop' matches no case"), none.err);
}

// Every device plugin the build has (not only cpu and opencl, by name) passes against cpu,
// in the library and through `plexus devices --check`; a device that cannot be created here
// (opencl without a platform) is skipped with a message.
BOOST_AUTO_TEST_CASE(every_device_plugin_passes_against_cpu) {
    plexus::core::Registry registry({.plugin_paths = {PLEXUS_TEST_PLUGIN_DIR},
                                     .use_environment = false,
                                     .use_defaults = false});
    auto reference = cpu();
    const std::size_t checked =
        plexus::test::for_each_device(registry, [&](const std::string& name, Device& device) {
            const DeviceCheckReport r = check_device(*reference, device);
            BOOST_TEST(r.passed(), plexus::testing::to_table(r, true));
            const auto cli = plexus::test::run_plexus("devices --check " + name);
            BOOST_TEST(cli.exit_code == 0, cli.err << cli.out);
            BOOST_TEST(contains(cli.out, name + " against cpu:"), cli.out);
            BOOST_TEST(contains(cli.out, " 0 failed,"), cli.out);
        });
    BOOST_TEST(checked >= 1u);  // cpu at least
}
