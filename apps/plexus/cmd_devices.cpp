// `plexus devices`: every device of every device plugin, as train.device / --device names
// them. A plugin that exports PLEXUS_DEVICE_LIST lists its devices itself; any other device
// plugin is one device, described by creating it with its defaults. A plugin that cannot
// enumerate (no driver, no hardware) has its one-line reason printed, and the exit status is
// then 1, after the devices that do work are listed.
//
// `plexus devices --check NAME` runs the SDK's conformance table
// (plexus::testing::check_device) on NAME against the cpu device: the way a backend author
// checks a new device.
#include <fmt/format.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.hpp"
#include "plexus/device.hpp"
#include "plexus/error.hpp"
#include "plexus/testing/device_check.hpp"

namespace po = boost::program_options;

namespace plexus::app {
namespace {

std::string format_memory(std::uint64_t bytes) {
    if (bytes == 0) return "-";
    return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1ull << 30));
}

void print_row(const std::string& spec, const std::string& type, const std::string& platform,
               const std::string& name, const std::string& memory, const std::string& units) {
    fmt::print("{:<11} {:<5} {:<28} {:<44} {:>10} {:>6}\n", spec, type, platform, name, memory,
               units);
}

nlohmann::json to_json(const testing::DeviceCheckReport& report) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : report.rows)
        rows.push_back({{"op", r.op},
                        {"shape", r.shape},
                        {"max_error", r.skipped ? 0.0 : r.max_error},
                        {"rel_tolerance", r.rel},
                        {"abs_tolerance", r.abs},
                        {"result", r.skipped  ? "skip"
                                   : r.passed ? "ok"
                                              : "fail"},
                        {"detail", r.detail}});
    return {{"reference", report.reference},
            {"candidate", report.candidate},
            {"passed", report.passed()},
            {"failed_ops", report.failed_ops()},
            {"cases", rows}};
}

// --check: the conformance table of `spec` against a cpu device; 0 when every case passes.
int check(const core::Registry& registry, const std::string& spec, const std::string& only,
          bool json) {
    const auto reference = registry.create_as<Device>("cpu", "the reference device");
    const auto candidate = registry.create_as<Device>(spec, "--check");
    const testing::DeviceCheckReport report =
        testing::check_device(*reference, *candidate, {.only = only});
    if (report.rows.empty())
        throw Error("--only '" + only +
                    "' matches no case of the conformance table (e.g. gemm, "
                    "unary, adam.update)");
    if (json)
        std::cout << to_json(report).dump(2) << "\n";
    else
        std::cout << testing::to_table(report);
    std::cout.flush();
    if (report.passed()) return 0;
    std::string ops;
    for (const std::string& op : report.failed_ops()) ops += (ops.empty() ? "" : ", ") + op;
    std::cerr << "plexus: error: " << spec << " differs from the cpu device in "
              << report.failed_count() << " of " << report.rows.size() << " cases: " << ops << "\n";
    return 1;
}

}  // namespace

int cmd_devices(const std::vector<std::string>& args) {
    po::options_description desc(
        "usage: plexus devices [options]\n\n"
        "Lists every device of every device plugin: the name to give train.device or --device\n"
        "(e.g. opencl:0), its type, platform, hardware, memory and compute units.\n\n"
        "With --check NAME, runs the device conformance table on NAME (e.g. opencl, opencl:1,\n"
        "\"opencl gemm=direct\") against the cpu device: every primitive op and fused kernel,\n"
        "with a tolerance. Prints op, shape, max error, tolerance and result per case; exits 1\n"
        "naming the failing ops if any case fails.\n\noptions");
    desc.add_options()("help,h", "show this help")("check",
                                                   po::value<std::string>()->value_name("NAME"),
                                                   "check device NAME against the cpu device")(
        "only", po::value<std::string>()->value_name("OP")->default_value(""),
        "with --check: only the cases whose op starts with OP (e.g. gemm, unary)")(
        "json", "with --check: print the results as JSON");
    add_plugin_options(desc);
    po::variables_map vm;
    if (!parse_command(args, desc, "unused", vm)) return 0;
    if (vm.count("unused"))
        throw po::error("unexpected argument '" + vm["unused"].as<std::string>() + "'");

    const core::Registry registry(registry_options(vm));
    if (vm.count("check"))
        return check(registry, vm["check"].as<std::string>(), vm["only"].as<std::string>(),
                     vm.count("json") > 0);
    if (vm.count("json") || !vm["only"].defaulted())
        throw po::error("--json and --only go with --check NAME");
    std::vector<std::string> errors;
    std::size_t listed = 0;
    print_row("device", "type", "platform", "name", "memory", "units");
    for (const auto& entry : registry.components()) {
        if (entry.info->kind != Kind::device) continue;
        const std::string component = entry.info->name;
        if (const ListDevicesFn list = registry.device_lister(entry)) {
            std::vector<DeviceListing> devices(16);
            char error[512] = {};
            long count = list(devices.data(), devices.size(), error, sizeof error);
            if (count > static_cast<long>(devices.size())) {
                devices.resize(static_cast<std::size_t>(count));
                count = list(devices.data(), devices.size(), error, sizeof error);
            }
            if (count < 0) {
                errors.push_back(error[0] ? error : component + ": cannot list its devices");
                continue;
            }
            for (long i = 0; i < count && i < static_cast<long>(devices.size()); ++i) {
                const DeviceListing& d = devices[static_cast<std::size_t>(i)];
                // A library with several device components lists each under its own name.
                if (d.component[0] && component != d.component) continue;
                print_row(d.spec, d.type, d.platform, d.name, format_memory(d.memory_bytes),
                          d.compute_units ? std::to_string(d.compute_units) : "-");
                ++listed;
            }
            continue;
        }
        try {
            const auto device = registry.create_as<Device>(component);
            print_row(component + ":0", "-", "-", device->description(), "-", "-");
            ++listed;
        } catch (const Error& e) {
            errors.push_back(e.what());
        }
    }
    std::fflush(stdout);
    if (listed == 0 && errors.empty())
        errors.emplace_back("no device plugins found (see `plexus plugins`)");
    for (const auto& e : errors) std::cerr << "plexus: error: " << e << "\n";
    return errors.empty() ? 0 : 1;
}

}  // namespace plexus::app
