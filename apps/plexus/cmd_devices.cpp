// `plexus devices`: every device of every device plugin, as train.device / --device names
// them. A plugin that exports PLEXUS_DEVICE_LIST lists its devices itself; any other device
// plugin is one device, described by creating it with its defaults. A plugin that cannot
// enumerate (no driver, no hardware) has its one-line reason printed, and the exit status is
// then 1, after the devices that do work are listed.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "plexus/device.hpp"
#include "plexus/error.hpp"

namespace po = boost::program_options;

namespace plexus::app {
namespace {

std::string format_memory(std::uint64_t bytes) {
    if (bytes == 0) return "-";
    char text[32];
    std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / (1ull << 30));
    return text;
}

void print_row(const std::string& spec, const std::string& type, const std::string& platform,
               const std::string& name, const std::string& memory, const std::string& units) {
    std::printf("%-11s %-5s %-28s %-44s %10s %6s\n", spec.c_str(), type.c_str(), platform.c_str(),
                name.c_str(), memory.c_str(), units.c_str());
}

}  // namespace

int cmd_devices(const std::vector<std::string>& args) {
    po::options_description desc(
        "usage: plexus devices [options]\n\n"
        "Lists every device of every device plugin: the name to give train.device or --device\n"
        "(e.g. opencl:0), its type, platform, hardware, memory and compute units.\n\noptions");
    desc.add_options()("help,h", "show this help");
    add_plugin_options(desc);
    po::variables_map vm;
    if (!parse_command(args, desc, "unused", vm)) return 0;
    if (vm.count("unused"))
        throw po::error("unexpected argument '" + vm["unused"].as<std::string>() + "'");

    const core::Registry registry(registry_options(vm));
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
