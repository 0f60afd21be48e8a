#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "commands.hpp"
#include "plexus/error.hpp"
#include "plexus/support/text.hpp"

namespace po = boost::program_options;

namespace plexus::app {

void add_plugin_options(po::options_description& desc) {
    desc.add_options()("plugin-path", po::value<std::vector<std::string>>()->composing(),
                       "search DIR for plugins first (repeatable)")(
        "allow-insecure-plugins", "load plugins from files or folders writable by others");
}

bool parse_command(const std::vector<std::string>& args, const po::options_description& desc,
                   const char* positional, po::variables_map& vm,
                   const po::options_description* hidden_options) {
    po::options_description hidden;
    hidden.add_options()(positional, po::value<std::string>());
    po::options_description all;
    all.add(desc).add(hidden);
    if (hidden_options) all.add(*hidden_options);
    po::positional_options_description pos;
    pos.add(positional, 1);
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
    if (vm.count("help")) {
        std::cout << desc << "\n";
        return false;
    }
    return true;
}

core::RegistryOptions registry_options(const po::variables_map& vm) {
    core::RegistryOptions o;
    if (vm.count("plugin-path"))
        for (const auto& p : vm["plugin-path"].as<std::vector<std::string>>())
            o.plugin_paths.emplace_back(p);
    o.allow_insecure = vm.count("allow-insecure-plugins") != 0;
    return o;
}

namespace {

void print_component(const core::ComponentEntry& e) {
    const ComponentInfo& c = *e.info;
    std::cout << "Name        " << c.name << "\n"
              << "Kind        " << kind_name(c.kind) << "\n"
              << "Version     " << c.version << "\n"
              << "Summary     " << c.summary << "\n"
              << "Library     " << e.library.string() << "\n\n";
    if (c.param_count == 0) {
        std::cout << "Parameters  none\n";
        return;
    }
    std::cout << "Parameters\n";
    static const char* kTypes[] = {"integer", "real", "boolean", "string", "choice"};
    for (std::size_t i = 0; i < c.param_count; ++i) {
        const ParamSpec& p = c.params[i];
        fmt::print("  {:<16} {}\n", p.name, p.doc ? p.doc : "");
        fmt::print("  {:<16} type {}, default {}", "", kTypes[static_cast<int>(p.type)],
                   p.default_value ? p.default_value : "(required)");
        const std::string range = core::describe_range(p);
        if (!range.empty())
            fmt::print(", {} {}", p.type == ParamType::choice ? "one of" : "range", range);
        fmt::print("\n");
    }
    std::fflush(stdout);
}

}  // namespace

int cmd_plugins(const std::vector<std::string>& args) {
    po::options_description desc(
        "usage: plexus plugins [NAME] [options]\n\n"
        "Lists every plugin component found on the search path, or the "
        "parameters of component NAME.\n\noptions");
    desc.add_options()("help,h", "show this help");
    add_plugin_options(desc);
    po::variables_map vm;
    if (!parse_command(args, desc, "name", vm)) return 0;
    core::Registry registry(registry_options(vm));

    if (vm.count("name")) {
        const std::string name = vm["name"].as<std::string>();
        const auto found = registry.find_any(name);
        if (found.empty()) {
            std::vector<std::string> names;
            for (const auto& c : registry.components()) names.emplace_back(c.info->name);
            throw PluginError("no plugin component named '" + name + "'" +
                              support::did_you_mean(name, names) + " (see `plexus plugins`)");
        }
        for (std::size_t i = 0; i < found.size(); ++i) {
            if (i) std::cout << "\n";
            print_component(*found[i]);
        }
        return 0;
    }

    std::size_t w_name = 4, w_lib = 7;
    for (const auto& e : registry.components()) {
        w_name = std::max(w_name, std::strlen(e.info->name));
        w_lib = std::max(w_lib, e.library.filename().string().size());
    }
    constexpr const char* kRow = "{:<10} {:<{}} {:<8} {:<{}} {}\n";
    fmt::print(kRow, "KIND", "NAME", w_name, "VERSION", "LIBRARY", w_lib, "SUMMARY");
    for (const auto& e : registry.components())
        fmt::print(kRow, kind_name(e.info->kind), e.info->name, w_name, e.info->version,
                   e.library.filename().string(), w_lib, e.info->summary);
    std::vector<std::string> paths;
    for (const auto& p : registry.search_path()) paths.push_back(p.lexically_normal().string());
    fmt::print("{} components; search path: {}\n", registry.components().size(),
               support::join(paths, ":"));
    std::fflush(stdout);
    for (const auto& err : registry.errors())
        // Reasons echo file text (a damaged file's symbol names in dlerror's message).
        std::cerr << "plexus: plugin error: " << support::printable(err.message, 900) << "\n";
    return 0;
}

}  // namespace plexus::app
