// Runs a Plexus sampler on the benchmark functions in-process, through the plugin registry
// as `plexus tune` loads it: the algorithm's quality and its own time per suggestion, without
// the cost of starting a trial process. One JSON line per (function, seed).
//
//   plexus-bench-sampler [--sampler "tpe ..."] [--trials N] [--seeds N] [FUNCTION...]
//
// FUNCTION: branin, hartmann6, rosenbrock10 (default: all three).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "functions.hpp"
#include "plexus/core/registry/registry.hpp"
#include "plexus/sampler.hpp"
#include "plexus/testing/samplers.hpp"

int main(int argc, char** argv) try {
    std::string spec = "tpe";
    unsigned long trials = 50, seeds = 10;
    std::vector<std::string> names;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--sampler" && i + 1 < argc)
            spec = argv[++i];
        else if (arg == "--trials" && i + 1 < argc)
            trials = std::stoul(argv[++i]);
        else if (arg == "--seeds" && i + 1 < argc)
            seeds = std::stoul(argv[++i]);
        else
            names.push_back(arg);
    }
    plexus::core::Registry registry;
    auto sampler = registry.create_as<plexus::Sampler>(spec);
    for (const auto& fn : bench::functions()) {
        if (!names.empty() && std::find(names.begin(), names.end(), fn.name) == names.end())
            continue;
        plexus::SearchSpace space;
        for (std::size_t d = 0; d < fn.low.size(); ++d)
            space.push_back(
                plexus::testing::uniform("x" + std::to_string(d), fn.low[d], fn.high[d]));
        for (unsigned long seed = 0; seed < seeds; ++seed) {
            std::vector<plexus::TrialView> history;
            double best = 1e300, seconds = 0;
            for (unsigned long n = 0; n < trials; ++n) {
                const auto start = std::chrono::steady_clock::now();
                auto x = sampler->suggest(space, history, {seed, n});
                seconds +=
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                const double y = fn.f(x);
                best = std::min(best, y);
                history.push_back(plexus::testing::trial(n, std::move(x), y));
            }
            std::printf(
                "{\"side\": \"plexus\", \"function\": \"%s\", \"seed\": %lu, "
                "\"best\": %.17g, \"seconds_per_trial\": %.6g}\n",
                fn.name.c_str(), seed, best, seconds / static_cast<double>(trials));
        }
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "plexus-bench-sampler: %s\n", e.what());
    return 1;
}
