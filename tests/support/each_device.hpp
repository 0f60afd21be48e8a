// Runs a test body on every device plugin a registry found: cpu always, opencl where this
// machine has a platform, and any device plugin added later, without naming them.
#pragma once

#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <exception>
#include <memory>
#include <string>

#include "plexus/core/registry/registry.hpp"
#include "plexus/device.hpp"

namespace plexus::test {

/// Creates each device component of `registry` and calls fn(name, device) inside a Boost.Test
/// context naming it. A device that cannot be created here (opencl without a platform) is
/// skipped with a message. Returns how many devices ran.
template <class Fn>
std::size_t for_each_device(const plexus::core::Registry& registry, Fn&& fn) {
    std::size_t ran = 0;
    for (const auto& entry : registry.components()) {
        if (entry.info->kind != plexus::Kind::device) continue;
        const std::string name = entry.info->name;
        std::shared_ptr<plexus::Device> device;
        try {
            device = registry.create_as<plexus::Device>(name);
        } catch (const std::exception& e) {
            BOOST_TEST_MESSAGE("skipped " << name << ", it cannot be created here: " << e.what());
            continue;
        }
        BOOST_TEST_CONTEXT("device " << name) {
            fn(name, *device);
        }
        ++ran;
    }
    return ran;
}

}  // namespace plexus::test
