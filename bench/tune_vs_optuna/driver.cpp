// Runs a Plexus sampler on the benchmark functions in-process, through the plugin registry
// as `plexus tune` loads it: the algorithm's quality and its own time per suggestion, without
// the cost of starting a trial process. One JSON line per (function, seed).
//
//   plexus-bench-sampler [--sampler "tpe ..."] [--trials N] [--seeds N] [FUNCTION...]
//   plexus-bench-sampler --eval FUNCTION X1 X2 ...
//
// FUNCTION: branin, hartmann6, rosenbrock10 (default: all three). --eval prints the
// function's value at X, for `plexus tune` studies (`command =`): a compiled objective, so a
// trial's time is Plexus's overhead rather than an interpreter starting.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "functions.hpp"
#include "plexus/core/registry/registry.hpp"
#include "plexus/sampler.hpp"
#include "plexus/testing/samplers.hpp"

namespace {

int evaluate(int argc, char** argv) {
    for (const auto& fn : bench::functions()) {
        if (argc < 3 || fn.name != argv[2]) continue;
        if (static_cast<std::size_t>(argc - 3) != fn.low.size())
            throw std::runtime_error(fn.name + " takes " + std::to_string(fn.low.size()) +
                                     " coordinates");
        std::vector<double> x;
        for (int i = 3; i < argc; ++i) x.push_back(std::stod(argv[i]));
        std::printf("%.17g\n", fn.f(x));
        return 0;
    }
    throw std::runtime_error("--eval FUNCTION X...: FUNCTION is branin, hartmann6 or rosenbrock10");
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc > 1 && std::string(argv[1]) == "--eval") return evaluate(argc, argv);
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
