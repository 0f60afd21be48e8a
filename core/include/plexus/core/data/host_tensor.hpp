// A named tensor copied to the host: what model files store (weights, fitted transform
// state) and what a pipeline saves and restores.
#pragma once

#include <string>
#include <vector>

#include "plexus/shape.hpp"

#pragma GCC visibility push(default)

namespace plexus::core {

struct HostTensor {
    std::string name;
    Shape shape;
    std::vector<float> values;  // shape.numel() floats
};

}  // namespace plexus::core

#pragma GCC visibility pop
