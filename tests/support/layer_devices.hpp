// The devices a layer plugin's test runs on: cpu always, and opencl where this machine has an
// OpenCL platform (PoCL on a CPU counts), so a layer is checked on every device it targets.
#pragma once

#include <boost/test/unit_test.hpp>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "plexus/device.hpp"
#include "plexus/testing.hpp"

namespace plexus::test {

/// (name, device) for cpu and, when it can be created here, opencl; a device that cannot be
/// created is skipped with a message.
inline std::vector<std::pair<std::string, std::shared_ptr<Device>>> layer_devices() {
    std::vector<std::pair<std::string, std::shared_ptr<Device>>> devices;
    for (const char* name : {"cpu", "opencl"}) {
        try {
            devices.emplace_back(name, testing::load<Device>(name));
        } catch (const std::exception& e) {
            BOOST_TEST_MESSAGE("skipped " << name << ", it cannot be created here: " << e.what());
        }
    }
    return devices;
}

}  // namespace plexus::test
