// Inference windows/s of a recurrent forecaster on a Plexus device, for bench/vs_pytorch.py's
// models (e) and (f): a recurrent layer over windows [52, 1] and a dense layer of one unit,
// forward in infer mode on batches of 64, as `plexus evaluate --batch-size 64` runs the model
// minus reading the data. Never asserts on time.
//
//   plexus-bench-recurrent [--seconds S] [--device SPEC] [LAYER_SPEC]...
//
// Default device: cpu threads=1; default layers: "lstm units=64" and "gru units=64". Prints
// one JSON line per layer: {"layer": ..., "windows_per_second": ...} (best of three windows).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "best_rate.hpp"
#include "plexus/core/registry/registry.hpp"
#include "plexus/device.hpp"
#include "plexus/layer.hpp"

namespace {

constexpr std::size_t kBatch = 64, kWindow = 52;

double windows_per_second(plexus::core::Registry& registry, plexus::Device& device,
                          const std::string& spec, double seconds) {
    auto rnn = registry.create_as<plexus::Layer>(spec);
    auto head = registry.create_as<plexus::Layer>("dense units=1");
    const plexus::Shape in{kBatch, kWindow, 1};
    const plexus::Shape mid = rnn->build(in, device, {1, 0});
    const plexus::Shape out = head->build(mid, device, {2, 1});
    const plexus::Tensor x = device.alloc(in), h = device.alloc(mid), y = device.alloc(out);
    device.random(plexus::Distribution::uniform, 3, 0, x, -1.0f, 1.0f);
    const auto forward = [&] {
        rnn->forward(x, h, plexus::Mode::infer);
        head->forward(h, y, plexus::Mode::infer);
    };
    // best_gflops counts "flops" per call: one call is kBatch windows.
    return plexus::bench::best_gflops(forward, [&] { device.synchronize(); },
                                      static_cast<double>(kBatch) * 1e9, seconds, 5);
}

}  // namespace

int main(int argc, char** argv) try {
    double seconds = 3.0;
    std::string device_spec = "cpu threads=1";
    std::vector<std::string> layers;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
        else if (arg == "--device" && i + 1 < argc) device_spec = argv[++i];
        else layers.push_back(arg);
    }
    if (layers.empty()) layers = {"lstm units=64", "gru units=64"};
    plexus::core::Registry registry;
    const auto device = registry.create_as<plexus::Device>(device_spec);
    for (const std::string& spec : layers)
        std::printf("{\"layer\": \"%s\", \"windows_per_second\": %.1f}\n", spec.c_str(),
                    windows_per_second(registry, *device, spec, seconds));
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "plexus-bench-recurrent: %s\n", e.what());
    return 1;
}
