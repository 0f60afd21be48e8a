// GEMM GFLOP/s of Plexus devices, through Device::gemm as a training step calls it: any
// device plugin and parameters (cpu, opencl with gemm=clblast|tiled|direct, ...), on given
// row-major shapes, each alone and all of them back to back, with synchronize() before every
// clock reading. For the GPU runs of issue 7, where it tells GEMM speed apart from the rest
// of a step; never asserts on time.
//
//   plexus-device-gemm [--seconds S] [--device SPEC]... [OP:MxNxK]...
//
// OP is NN, TN or NT (op(a), op(b)). Default device: cpu. Default shapes: one training step
// of the wide MLP 784-4096-4096-10 at batch 1024 (forward, weight gradients, input
// gradients of the two upper layers) and the 4096^3 square. Prints a Markdown table, GFLOP/s
// per shape and device (best of three windows), and the step's sequence.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "best_rate.hpp"
#include "plexus/core/registry/registry.hpp"
#include "plexus/device.hpp"

namespace {

using plexus::Device;
using plexus::Shape;
using plexus::Tensor;
using plexus::Transpose;

struct Gemm {
    std::string text;
    bool ta = false, tb = false;
    std::size_t m = 0, n = 0, k = 0;
    double flops() const { return 2.0 * static_cast<double>(m) * n * k; }
};

bool parse(const std::string& text, Gemm& g) {
    char ta = 0, tb = 0;
    unsigned long m = 0, n = 0, k = 0;
    if (std::sscanf(text.c_str(), "%c%c:%lux%lux%lu", &ta, &tb, &m, &n, &k) != 5) return false;
    if ((ta != 'N' && ta != 'T') || (tb != 'N' && tb != 'T') || !m || !n || !k) return false;
    g = {text, ta == 'T', tb == 'T', m, n, k};
    return true;
}

// The operands of one GEMM on one device, filled with small values.
struct Operands {
    Tensor a, b, c;
    Operands(Device& d, const Gemm& g)
        : a(d.alloc(g.ta ? Shape{g.k, g.m} : Shape{g.m, g.k})),
          b(d.alloc(g.tb ? Shape{g.n, g.k} : Shape{g.k, g.n})),
          c(d.alloc(Shape{g.m, g.n})) {
        d.fill(a, 0.5f);
        d.fill(b, 0.25f);
    }
    void run(Device& d, const Gemm& g) const {
        d.gemm(g.ta ? Transpose::yes : Transpose::no, g.tb ? Transpose::yes : Transpose::no,
               1.0f, a, b, 0.0f, c);
    }
};

// Best of three timed windows (bench/best_rate.hpp) after two untimed calls (the first
// compiles kernels on devices that build them lazily).
template <class F>
double gflops(Device& d, F&& body, double flops, double seconds) {
    return plexus::bench::best_gflops(body, [&] { d.synchronize(); }, flops, seconds, 2);
}

const char* const kWideStep[] = {
    "NN:1024x4096x784",  "NN:1024x4096x4096", "NN:1024x10x4096",   // forward
    "TN:4096x10x1024",   "NT:1024x4096x10",                         // output layer backward
    "TN:4096x4096x1024", "NT:1024x4096x4096",                       // second layer backward
    "TN:784x4096x1024"};                                            // first layer: weights only

}  // namespace

int main(int argc, char** argv) try {
    double seconds = 1.0;
    std::vector<std::string> specs;
    std::vector<Gemm> gemms;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if ((arg == "--seconds" || arg == "--device") && i + 1 < argc) {
            if (arg == "--seconds") seconds = std::atof(argv[++i]);
            else specs.emplace_back(argv[++i]);
            continue;
        }
        if (arg == "-h" || arg == "--help") {
            std::printf("usage: plexus-device-gemm [--seconds S] [--device SPEC]... [OP:MxNxK]...\n"
                        "GFLOP/s of Device::gemm per shape and device (OP: NN, TN, NT); default "
                        "device cpu, default shapes a training step of 784-4096-4096-10 at "
                        "batch 1024 and 4096^3\n");
            return 0;
        }
        Gemm g;
        if (!parse(arg, g)) {
            std::fprintf(stderr, "plexus-device-gemm: bad shape '%s'; use OP:MxNxK, e.g. NT:1024x4096x4096\n",
                         arg.c_str());
            return 2;
        }
        gemms.push_back(g);
    }
    if (specs.empty()) specs.emplace_back("cpu");
    const bool step = gemms.empty();
    if (step)
        for (const char* text : kWideStep) parse(text, gemms.emplace_back());

    plexus::core::Registry registry;
    std::vector<std::vector<double>> table(gemms.size() + 2);  // shapes, the step, the square
    std::printf("| shape |");
    for (const std::string& spec : specs) std::printf(" %s |", spec.c_str());
    std::printf("\n|---|");
    for (std::size_t i = 0; i < specs.size(); ++i) std::printf("---|");
    std::printf("\n");
    for (const std::string& spec : specs) {
        const auto device = registry.create_as<Device>(spec);
        std::fprintf(stderr, "%s: %s\n", spec.c_str(), device->description().c_str());
        std::vector<Operands> ops;
        double total = 0.0;
        for (const Gemm& g : gemms) {
            ops.emplace_back(*device, g);
            total += g.flops();
        }
        for (std::size_t i = 0; i < gemms.size(); ++i)
            table[i].push_back(gflops(*device, [&] { ops[i].run(*device, gemms[i]); },
                                      gemms[i].flops(), seconds));
        table[gemms.size()].push_back(gflops(
            *device, [&] { for (std::size_t i = 0; i < gemms.size(); ++i) ops[i].run(*device, gemms[i]); },
            total, 3 * seconds));
        if (step) {
            Gemm square;
            parse("NN:4096x4096x4096", square);
            const Operands sq(*device, square);
            table[gemms.size() + 1].push_back(
                gflops(*device, [&] { sq.run(*device, square); }, square.flops(), seconds));
        }
    }
    for (std::size_t row = 0; row < table.size(); ++row) {
        if (table[row].empty()) continue;
        const std::string name = row < gemms.size()    ? gemms[row].text
                                 : row == gemms.size() ? std::string(step ? "the wide MLP's step" : "all, in sequence")
                                                       : std::string("NN:4096x4096x4096");
        std::printf("| %s |", name.c_str());
        for (double v : table[row]) std::printf(" %.0f |", v);
        std::printf("\n");
    }
    std::printf("(GFLOP/s, best of three windows)\n");
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "plexus-device-gemm: %s\n", e.what());
    return 1;
}
