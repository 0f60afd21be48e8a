// Registries over chosen folders only, and their one-line errors, for the registry tests.
#pragma once

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "plexus/core/registry/registry.hpp"

namespace plexus::test {

/// Options that search exactly `paths`: no PLEXUS_PLUGIN_PATH, no default folders.
inline core::RegistryOptions only(std::vector<std::filesystem::path> paths) {
    core::RegistryOptions o;
    o.plugin_paths = std::move(paths);
    o.use_environment = false;
    o.use_defaults = false;
    return o;
}

inline bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

/// The registry's only error message; fails the test when there is not exactly one.
inline std::string only_error(const core::Registry& r) {
    BOOST_REQUIRE_EQUAL(r.errors().size(), 1u);
    return r.errors()[0].message;
}

}  // namespace plexus::test
