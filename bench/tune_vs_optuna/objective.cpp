// plexus-bench-objective FUNCTION X1 X2 ...: prints FUNCTION(X), the objective of the
// `plexus tune` studies of tune_vs_optuna (`command =`). Compiled and linked against nothing
// of Plexus, so a trial costs one small process and the rest of its time is the tuner's.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "functions.hpp"

int main(int argc, char** argv) try {
    for (const auto& fn : bench::functions()) {
        if (argc < 2 || fn.name != argv[1]) continue;
        if (static_cast<std::size_t>(argc - 2) != fn.low.size()) {
            std::fprintf(stderr, "plexus-bench-objective: %s takes %zu coordinates\n",
                         fn.name.c_str(), fn.low.size());
            return 2;
        }
        std::vector<double> x;
        for (int i = 2; i < argc; ++i) x.push_back(std::stod(argv[i]));
        std::printf("%.17g\n", fn.f(x));
        return 0;
    }
    std::fprintf(stderr, "usage: plexus-bench-objective branin|hartmann6|rosenbrock10 X...\n");
    return 2;
} catch (const std::exception& e) {
    std::fprintf(stderr, "plexus-bench-objective: a coordinate is not a number (%s)\n", e.what());
    return 2;
}
