// What a layer's build() says about an input: the output shape, or the one-line message for an
// input it cannot take, for the shape and message tests of layer plugins.
#pragma once

#include <string>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"

namespace plexus::test {

/// what() of the ShapeError that building `spec` (a layer spec line) for `input` on the cpu
/// device throws, or "(no error)".
inline std::string build_error(const std::string& spec, const Shape& input) {
    auto device = testing::load<Device>("cpu");
    auto layer = testing::load<Layer>(spec);
    try {
        layer->build(input, *device, {});
    } catch (const ShapeError& e) {
        return e.what();
    }
    return "(no error)";
}

/// The output shape `spec` (a layer spec line) builds for `input` on the cpu device, as text
/// ("[8, 16]"), followed by " with parameters" when the layer has any.
inline std::string build_shape(const std::string& spec, const Shape& input) {
    auto device = testing::load<Device>("cpu");
    auto layer = testing::load<Layer>(spec);
    const std::string shape = layer->build(input, *device, {}).str();
    return layer->parameters().empty() ? shape : shape + " with parameters";
}

}  // namespace plexus::test
