// The sgemm ceiling for bench/vs_pytorch.py: GFLOP/s of OpenBLAS's cblas_sgemm (the library
// the CPU device calls, with its default threads) on given row-major shapes, each alone and
// all of them back to back as one training step runs them.
//
//   plexus-sgemm-ceiling [--seconds S] OP:MxNxK...     OP is NN, TN or NT (op(a), op(b))
//
// Prints one JSON object: {"shapes": [{"shape", "gflops"}...], "sequence_gflops", "square_gflops"}
// where square_gflops is a 4096x4096x4096 NN product, the "large squares" reference.
#include <cblas.h>
#include <pmmintrin.h>
#include <xmmintrin.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "best_rate.hpp"

namespace {

struct Gemm {
    std::string text;
    bool ta = false, tb = false;
    int m = 0, n = 0, k = 0;
    std::vector<float> a, b, c;

    void run() {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m,
                    n, k, 1.0f, a.data(), ta ? m : k, b.data(), tb ? k : n, 0.0f, c.data(), n);
    }
    double flops() const { return 2.0 * m * n * k; }
};

bool parse(const std::string& text, Gemm& g) {
    char ta = 0, tb = 0;
    if (std::sscanf(text.c_str(), "%c%c:%dx%dx%d", &ta, &tb, &g.m, &g.n, &g.k) != 5) return false;
    if ((ta != 'N' && ta != 'T') || (tb != 'N' && tb != 'T') || g.m <= 0 || g.n <= 0 || g.k <= 0)
        return false;
    g.text = text;
    g.ta = ta == 'T';
    g.tb = tb == 'T';
    g.a.assign(static_cast<std::size_t>(g.m) * g.k, 0.5f);
    g.b.assign(static_cast<std::size_t>(g.k) * g.n, 0.25f);
    g.c.assign(static_cast<std::size_t>(g.m) * g.n, 0.0f);
    return true;
}

// Best of three timed windows (bench/best_rate.hpp) after one untimed warm-up call.
template <class F>
double gflops(F&& body, double flops, double seconds) {
    return plexus::bench::best_gflops(body, [] {}, flops, seconds, 1);
}

}  // namespace

int main(int argc, char** argv) {
    // As the CPU device does: subnormals flushed in every computing thread.
    _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
    _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
    double seconds = 1.5;
    std::vector<Gemm> gemms;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--seconds" && i + 1 < argc) {
            seconds = std::atof(argv[++i]);
            continue;
        }
        Gemm g;
        if (!parse(arg, g)) {
            std::fprintf(stderr, "plexus-sgemm-ceiling: bad shape '%s'; use OP:MxNxK, e.g. NT:512x784x2048\n",
                         arg.c_str());
            return 2;
        }
        gemms.push_back(std::move(g));
    }
    std::printf("{\"library\": \"%s\", \"threads\": %d, \"shapes\": [", openblas_get_config(),
                openblas_get_num_threads());
    double total_flops = 0.0;
    for (std::size_t i = 0; i < gemms.size(); ++i) {
        Gemm& g = gemms[i];
        total_flops += g.flops();
        std::printf("%s{\"shape\": \"%s\", \"gflops\": %.1f}", i ? ", " : "", g.text.c_str(),
                    gflops([&] { g.run(); }, g.flops(), seconds / gemms.size()));
    }
    double sequence = 0.0;
    if (!gemms.empty())
        sequence = gflops([&] { for (auto& g : gemms) g.run(); }, total_flops, seconds);
    Gemm square;
    parse("NN:4096x4096x4096", square);
    const double square_gflops = gflops([&] { square.run(); }, square.flops(), seconds);
    std::printf("], \"sequence_gflops\": %.1f, \"square_gflops\": %.1f}\n", sequence, square_gflops);
    return 0;
}
