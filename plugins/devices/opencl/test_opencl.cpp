// OpenCL device tests, run on PoCL in CI. The op tests are one table of cases, each run on
// the CPU device (the reference) and on the OpenCL device from the same inputs and compared
// with a tolerance, as ggml's test-backend-ops does. Training runs, transfer counters, the
// program cache and the setup errors are in test_opencl_runs.cpp (the same executable).
#define BOOST_TEST_MODULE opencl_device
#include <algorithm>
#include <array>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "plexus/device.hpp"
#include "plexus/error.hpp"
#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"

using plexus::Axis;
using plexus::BinaryOp;
using plexus::Device;
using plexus::DeviceError;
using plexus::Distribution;
using plexus::FusedArgs;
using plexus::ReduceOp;
using plexus::Shape;
using plexus::Tensor;
using plexus::Transpose;
using plexus::UnaryOp;
using Floats = std::vector<float>;

#if defined(__SANITIZE_ADDRESS__)
// PoCL, its LLVM and the ICD loader never free some process-lifetime allocations; the same
// list as lsan_suppressions.txt, which the runs in test_opencl_runs.cpp pass to plexus.
extern "C" const char* __lsan_default_suppressions() {
    return "leak:libpocl.so\nleak:libLLVM\nleak:libOpenCL.so\nleak:libclblast.so\n";
}
#endif

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Kernels compiled by these tests are cached in the build tree, not in the user's ~/.cache.
struct CacheInBuildTree {
    CacheInBuildTree() {
        const std::string dir = std::string(PLEXUS_TEST_BUILD_DIR) + "/tests/opencl-cache";
        ::setenv("XDG_CACHE_HOME", dir.c_str(), 1);
    }
};
BOOST_TEST_GLOBAL_FIXTURE(CacheInBuildTree);

std::shared_ptr<Device> load(const std::string& spec) {
    return plexus::testing::load<Device>(spec, {PLEXUS_TEST_PLUGIN_DIR});
}

Device& cpu() {
    static auto device = load("cpu");
    return *device;
}
Device& opencl() {
    static auto device = load("opencl");
    return *device;
}

// ---- the conformance table

// One operand: its shape and how its host values are made.
struct Operand {
    Shape shape;
    float lo = -2.0f, hi = 2.0f;  // uniform values in [lo, hi]
    Floats values = {};           // used instead when not empty
};

struct Case {
    std::string name;
    std::vector<Operand> inputs;   // tensors passed to `run` first
    std::vector<Operand> outputs;  // then these (initial values too: some ops read them)
    std::function<void(Device&, const std::vector<Tensor>&)> run;
    float rel = 1e-4f;  // |got - want| <= rel * |want| + abs
    float abs = 1e-5f;
};

Floats make_values(const Operand& o, std::mt19937& rng) {
    if (!o.values.empty()) return o.values;
    std::uniform_real_distribution<float> dist(o.lo, o.hi);
    Floats v(o.shape.numel());
    for (float& x : v) x = dist(rng);
    return v;
}

// Runs a case on a device from the same seeded inputs; returns every tensor afterwards
// (inputs too, since ops may write in place).
std::vector<Floats> run_case(Device& device, const Case& c, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<Tensor> tensors;
    for (const auto* list : {&c.inputs, &c.outputs})
        for (const Operand& o : *list)
            // Empty operands are only allocated (and not downloaded): the CPU device's
            // write/read hand memcpy the null data() of an empty vector, which UBSan rejects.
            tensors.push_back(o.shape.numel() == 0
                                  ? device.alloc(o.shape)
                                  : plexus::testing::make_tensor(device, o.shape, make_values(o, rng)));
    c.run(device, tensors);
    std::vector<Floats> out;
    for (const Tensor& t : tensors)
        out.push_back(t.numel() ? plexus::testing::to_host(device, t) : Floats());
    return out;
}

void check_case(const Case& c, std::uint32_t seed, Device& device = opencl()) {
    BOOST_TEST_CONTEXT(c.name) {
        const auto want = run_case(cpu(), c, seed);
        const auto got = run_case(device, c, seed);
        for (std::size_t t = 0; t < want.size(); ++t) {
            std::size_t bad = 0;
            double worst = 0.0;
            std::size_t worst_at = 0;
            for (std::size_t i = 0; i < want[t].size(); ++i) {
                const float w = want[t][i], g = got[t][i];
                const bool same_nan = std::isnan(w) && std::isnan(g);
                const double err = std::fabs(double(g) - double(w));
                if (!same_nan && !(err <= c.rel * std::fabs(w) + c.abs)) {
                    if (bad++ == 0 || err > worst) {
                        worst = err;
                        worst_at = i;
                    }
                }
            }
            if (bad == 0) continue;
            BOOST_ERROR("tensor " << t << ": " << bad << " of " << want[t].size()
                                  << " elements differ; worst at " << worst_at << ": opencl "
                                  << got[t][worst_at] << ", cpu " << want[t][worst_at]);
        }
    }
}

// Shapes with odd sizes, a single row and a single column.
const std::vector<Shape> kShapes = {{1, 1}, {1, 7}, {5, 1}, {3, 5}, {17, 33}, {128, 10}, {65, 257}};

std::vector<Case> elementwise_cases() {
    std::vector<Case> cases;
    const std::vector<std::pair<UnaryOp, const char*>> unary = {
        {UnaryOp::identity, "identity"}, {UnaryOp::scale, "scale"},
        {UnaryOp::add_scalar, "add_scalar"}, {UnaryOp::neg, "neg"},
        {UnaryOp::abs, "abs"},           {UnaryOp::square, "square"},
        {UnaryOp::sqrt, "sqrt"},         {UnaryOp::exp, "exp"},
        {UnaryOp::log, "log"},           {UnaryOp::relu, "relu"},
        {UnaryOp::sigmoid, "sigmoid"},   {UnaryOp::tanh, "tanh"},
        {UnaryOp::sign, "sign"},         {UnaryOp::leaky_relu, "leaky_relu"},
        {UnaryOp::elu, "elu"},           {UnaryOp::clip, "clip"},
        {UnaryOp::reciprocal, "reciprocal"}};
    for (const auto& [op, name] : unary) {
        const bool positive = op == UnaryOp::sqrt || op == UnaryOp::log || op == UnaryOp::reciprocal;
        for (const Shape& s : {Shape{1, 1}, Shape{3, 5}, Shape{65, 257}}) {
            const Operand x{s, positive ? 0.1f : -6.0f, 6.0f};
            cases.push_back({std::string("unary ") + name + " " + s.str(), {x}, {{s}},
                             [op = op](Device& d, const std::vector<Tensor>& t) {
                                 d.unary(op, t[0], t[1], 0.3f);
                             }});
            cases.push_back({std::string("unary in place ") + name + " " + s.str(), {x}, {},
                             [op = op](Device& d, const std::vector<Tensor>& t) {
                                 d.unary(op, t[0], t[0], 1.7f);
                             }});
        }
    }
    const std::vector<std::pair<BinaryOp, const char*>> binary = {
        {BinaryOp::add, "add"},
        {BinaryOp::sub, "sub"},
        {BinaryOp::mul, "mul"},
        {BinaryOp::div, "div"},
        {BinaryOp::max, "max"},
        {BinaryOp::min, "min"},
        {BinaryOp::equal, "equal"},
        {BinaryOp::relu_backward, "relu_backward"},
        {BinaryOp::leaky_relu_backward, "leaky_relu_backward"},
        {BinaryOp::elu_backward, "elu_backward"},
        {BinaryOp::sigmoid_backward, "sigmoid_backward"},
        {BinaryOp::tanh_backward, "tanh_backward"},
        {BinaryOp::greater, "greater"}};
    for (const auto& [op, name] : binary) {
        for (const Shape& s : {Shape{1, 7}, Shape{17, 33}}) {
            // b away from 0 for div; small integers so equal and greater see ties.
            const Operand a{s, -3.0f, 3.0f};
            const Operand b_full{s, 0.5f, 3.0f}, b_row{Shape{s.cols()}, 0.5f, 3.0f},
                b_scalar{Shape{1}, 0.5f, 3.0f};
            const auto run = [op = op](Device& d, const std::vector<Tensor>& t) {
                d.binary(op, t[0], t[1], t[2], 0.2f);
            };
            cases.push_back({std::string("binary ") + name + " elementwise " + s.str(),
                             {a, b_full}, {{s}}, run});
            cases.push_back({std::string("binary ") + name + " row " + s.str(), {a, b_row},
                             {{s}}, run});
            cases.push_back({std::string("binary ") + name + " scalar " + s.str(),
                             {a, b_scalar}, {{s}}, run});
        }
        const Shape s{4, 3};
        const Floats ints = {0, 1, 2, 2, 1, 0, -1, 1, 1, 2, 2, 3};
        cases.push_back({std::string("binary ") + name + " ties", {{s, 0, 0, ints}, {s, 0, 0, Floats(12, 1.0f)}},
                         {}, [op = op](Device& d, const std::vector<Tensor>& t) {
                             d.binary(op, t[0], t[1], t[0], 0.5f);  // y aliases a
                         }});
    }
    for (const Shape& s : kShapes) {
        cases.push_back({"axpby " + s.str(), {{s}}, {{s}},
                         [](Device& d, const std::vector<Tensor>& t) { d.axpby(1.5f, t[0], -0.5f, t[1]); }});
        // beta = 0 must not read y: NaN garbage does not leak into the result.
        cases.push_back({"axpby beta=0 " + s.str(), {{s}}, {{s, 0, 0, Floats(s.numel(), kNaN)}},
                         [](Device& d, const std::vector<Tensor>& t) { d.axpby(2.0f, t[0], 0.0f, t[1]); }});
        cases.push_back({"fill " + s.str(), {}, {{s}},
                         [](Device& d, const std::vector<Tensor>& t) { d.fill(t[0], -3.25f); }});
        cases.push_back({"copy " + s.str(), {{s}}, {{Shape{s.numel()}}},
                         [](Device& d, const std::vector<Tensor>& t) { d.copy(t[0], t[1]); }});
    }
    cases.push_back({"copy overlapping views", {{Shape{10, 3}}}, {},
                     [](Device& d, const std::vector<Tensor>& t) {
                         d.copy(t[0].rows(0, 6), t[0].rows(3, 6));  // memmove semantics
                         d.fill(t[0].rows(9, 1), 7.0f);              // a view at an offset
                     }});
    return cases;
}

std::vector<Case> reduce_softmax_cases() {
    std::vector<Case> cases;
    const std::vector<std::pair<ReduceOp, const char*>> ops = {
        {ReduceOp::sum, "sum"}, {ReduceOp::mean, "mean"}, {ReduceOp::max, "max"},
        {ReduceOp::argmax, "argmax"}};
    const std::vector<std::pair<Axis, const char*>> axes = {
        {Axis::rows, "rows"}, {Axis::cols, "cols"}, {Axis::all, "all"}};
    for (const auto& [op, op_name] : ops)
        for (const auto& [axis, axis_name] : axes)
            for (const Shape& s : kShapes) {
                const std::size_t out = axis == Axis::rows ? s.cols() : axis == Axis::cols ? s.rows() : 1;
                cases.push_back({std::string("reduce ") + op_name + " " + axis_name + " " + s.str(),
                                 {{s}}, {{Shape{out}}},
                                 [op = op, axis = axis](Device& d, const std::vector<Tensor>& t) {
                                     d.reduce(op, t[0], axis, t[1]);
                                 },
                                 1e-4f, 1e-4f});
            }
    // Ties: argmax takes the first maximum, in every direction.
    const Floats ties = {1, 3, 3, 0, 3, 1, 2, 3, 3, 3, 1, 0};
    for (const auto& [axis, axis_name] : axes) {
        const std::size_t out = axis == Axis::rows ? 4 : axis == Axis::cols ? 3 : 1;
        cases.push_back({std::string("reduce argmax ties ") + axis_name, {{Shape{3, 4}, 0, 0, ties}},
                         {{Shape{out}}}, [axis = axis](Device& d, const std::vector<Tensor>& t) {
                             d.reduce(ReduceOp::argmax, t[0], axis, t[1]);
                         }});
    }
    // A large mean with a small spread, and a long row: sums must not drift.
    cases.push_back({"reduce sum all long", {{Shape{1000, 100}, 999.0f, 1001.0f}}, {{Shape{1}}},
                     [](Device& d, const std::vector<Tensor>& t) { d.reduce(ReduceOp::sum, t[0], Axis::all, t[1]); }});
    for (const Shape& s : kShapes) {
        for (bool log : {false, true}) {
            cases.push_back({std::string(log ? "log_softmax " : "softmax ") + s.str(),
                             {{s, -8.0f, 8.0f}}, {{s}},
                             [log](Device& d, const std::vector<Tensor>& t) { d.softmax(t[0], t[1], log); }});
        }
        cases.push_back({"softmax in place " + s.str(), {{s, 995.0f, 1005.0f}}, {},
                         [](Device& d, const std::vector<Tensor>& t) { d.softmax(t[0], t[0], true); }});
        cases.push_back({"softmax_backward " + s.str(), {{s, -3, 3}, {s, -1, 1}}, {{s}},
                         [](Device& d, const std::vector<Tensor>& t) {
                             d.softmax(t[0], t[0]);
                             d.softmax_backward(t[0], t[1], t[2]);
                         },
                         1e-4f, 1e-6f});
        cases.push_back({"softmax_backward in place " + s.str(), {{s, -3, 3}, {s, -1, 1}}, {},
                         [](Device& d, const std::vector<Tensor>& t) {
                             d.softmax(t[0], t[0]);
                             d.softmax_backward(t[0], t[1], t[1]);
                         },
                         1e-4f, 1e-6f});
    }
    return cases;
}

std::vector<Case> gemm_cases() {
    std::vector<Case> cases;
    // (M, N, K): odd sizes, a single row, a single column, tiles that do not divide, K = 0.
    const std::vector<std::array<std::size_t, 3>> sizes = {
        {1, 1, 1}, {1, 10, 784}, {7, 5, 3}, {33, 65, 17}, {128, 10, 256}, {100, 300, 70},
        {257, 260, 300}, {4, 6, 0}};
    const std::vector<std::pair<float, float>> scales = {{1.0f, 0.0f}, {0.5f, 1.0f}, {-2.0f, 0.25f}};
    for (const auto& [m, n, k] : sizes)
        for (Transpose ta : {Transpose::no, Transpose::yes})
            for (Transpose tb : {Transpose::no, Transpose::yes})
                for (const auto& [alpha, beta] : scales) {
                    const bool at = ta == Transpose::yes, bt = tb == Transpose::yes;
                    const Shape sa = at ? Shape{k, m} : Shape{m, k};
                    const Shape sb = bt ? Shape{n, k} : Shape{k, n};
                    std::ostringstream name;
                    name << "gemm " << m << "x" << n << "x" << k << (at ? " a^T" : "")
                         << (bt ? " b^T" : "") << " alpha=" << alpha << " beta=" << beta;
                    // beta = 0 must not read c: start it as NaN.
                    Operand c{Shape{m, n}};
                    if (beta == 0.0f) c.values = Floats(m * n, kNaN);
                    cases.push_back({name.str(), {{sa}, {sb}}, {c},
                                     [ta = ta, tb = tb, alpha = alpha, beta = beta](
                                         Device& d, const std::vector<Tensor>& t) {
                                         d.gemm(ta, tb, alpha, t[0], t[1], beta, t[2]);
                                     },
                                     1e-4f, 1e-4f});
                }
    // Operands that are views at an offset, the same tensor as both operands.
    cases.push_back({"gemm views a^T a", {{Shape{9, 5}}}, {{Shape{5, 5}}},
                     [](Device& d, const std::vector<Tensor>& t) {
                         const Tensor a = t[0].rows(2, 6);
                         d.gemm(Transpose::yes, Transpose::no, 1.0f, a, a, 0.0f, t[1]);
                     },
                     1e-4f, 1e-4f});
    return cases;
}

std::vector<Case> random_cases() {
    std::vector<Case> cases;
    for (std::size_t n : {1u, 3u, 4u, 1001u}) {
        const Shape s{n};
        cases.push_back({"random uniform " + s.str(), {}, {{s}},
                         [](Device& d, const std::vector<Tensor>& t) {
                             d.random(Distribution::uniform, 42, 7, t[0], -1.0f, 3.0f);
                         },
                         0.0f, 0.0f});  // the same bits and the same float arithmetic: exact
        cases.push_back({"random bernoulli " + s.str(), {}, {{s}},
                         [](Device& d, const std::vector<Tensor>& t) {
                             d.random(Distribution::bernoulli, 1234, 99, t[0], 0.3f, 0.0f);
                         },
                         0.0f, 0.0f});
        cases.push_back({"random normal " + s.str(), {}, {{s}},
                         [](Device& d, const std::vector<Tensor>& t) {
                             d.random(Distribution::normal, 5, (1ull << 40) + 3, t[0], 1.0f, 2.0f);
                         },
                         1e-4f, 1e-5f});
    }
    return cases;
}

// ---- fused kernels: the CPU device's fused kernels (or, where it has none, its primitives)

std::vector<Case> fused_cases() {
    std::vector<Case> cases;
    for (const Shape& s : {Shape{2, 1}, Shape{3, 5}, Shape{128, 10}, Shape{65, 257}}) {
        const std::size_t f = s.cols();
        for (int affine = 0; affine < 2; ++affine) {
            const std::string tag = (affine ? " gamma,beta " : " plain ") + s.str();
            // inputs: x, gamma, beta; outputs: y, xhat, mean, invstd, moving_mean, moving_var
            cases.push_back({"batchnorm.forward train" + tag,
                             {{s, 40.0f, 44.0f}, {Shape{f}, 0.5f, 1.5f}, {Shape{f}}},
                             {{s}, {s}, {Shape{f}}, {Shape{f}}, {Shape{f}}, {Shape{f}, 0.5f, 1.5f}},
                             [affine](Device& d, const std::vector<Tensor>& t) {
                                 const Tensor* in[] = {&t[0], affine ? &t[1] : nullptr, affine ? &t[2] : nullptr};
                                 Tensor out_t[] = {t[3], t[4], t[5], t[6], t[7], t[8]};
                                 Tensor* out[] = {&out_t[0], &out_t[1], &out_t[2], &out_t[3], &out_t[4], &out_t[5]};
                                 const float scalars[] = {1e-3f, 0.9f, 1.0f};
                                 BOOST_TEST_REQUIRE(d.try_fused("batchnorm.forward", {in, out, scalars}));
                             },
                             1e-4f, 1e-4f});
            cases.push_back({"batchnorm.forward infer" + tag,
                             {{s}, {Shape{f}, 0.5f, 1.5f}, {Shape{f}}, {Shape{f}}, {Shape{f}, 0.5f, 1.5f}},
                             {{s}},
                             [affine](Device& d, const std::vector<Tensor>& t) {
                                 const Tensor* in[] = {&t[0], affine ? &t[1] : nullptr,
                                                       affine ? &t[2] : nullptr, &t[3], &t[4]};
                                 Tensor y = t[5];
                                 Tensor* out[] = {&y};
                                 const float scalars[] = {1e-3f, 0.9f, 0.0f};
                                 BOOST_TEST_REQUIRE(d.try_fused("batchnorm.forward", {in, out, scalars}));
                             }});
            for (int with_dx = 0; with_dx < 2; ++with_dx)
                cases.push_back({"batchnorm.backward" + tag + (with_dx ? " dx" : " no dx"),
                                 {{s}, {s}, {Shape{f}, 0.5f, 1.5f}, {Shape{f}, 0.5f, 2.0f}},
                                 {{s}, {Shape{f}}, {Shape{f}}},
                                 [affine, with_dx](Device& d, const std::vector<Tensor>& t) {
                                     const Tensor* in[] = {&t[0], &t[1], affine ? &t[2] : nullptr, &t[3]};
                                     Tensor dx = t[4], dg = t[5], db = t[6];
                                     Tensor* out[] = {with_dx ? &dx : nullptr, &dg, &db};
                                     BOOST_TEST_REQUIRE(d.try_fused("batchnorm.backward", {in, out, {}}));
                                 },
                                 1e-4f, 1e-4f});
        }
        // The CPU device has no fused softmax cross-entropy: it runs the loss's primitive path.
        cases.push_back({"softmax_cross_entropy.backward " + s.str(), {{s, -5, 5}, {s, 0, 1}}, {{s}},
                         [n = s.rows()](Device& d, const std::vector<Tensor>& t) {
                             const float scale = 1.0f / static_cast<float>(n);
                             const Tensor* in[] = {&t[0], &t[1]};
                             Tensor dpred = t[2];
                             Tensor* out[] = {&dpred};
                             const float scalars[] = {scale};
                             if (d.try_fused("softmax_cross_entropy.backward", {in, out, scalars})) return;
                             BOOST_TEST_REQUIRE(d.name() == "cpu");
                             d.softmax(t[0], t[2]);
                             d.binary(BinaryOp::sub, t[2], t[1], t[2]);
                             d.unary(UnaryOp::scale, t[2], t[2], scale);
                         },
                         1e-4f, 1e-6f});
    }
    for (std::size_t n : {1u, 7u, 1000u}) {
        const Shape s{n};
        for (int amsgrad = 0; amsgrad < 2; ++amsgrad)
            for (int clip = 0; clip < 2; ++clip) {
                std::vector<Operand> outs = {{s}, {s, -0.1f, 0.1f}, {s, 0.0f, 0.01f}};
                if (amsgrad) outs.push_back({s, 0.0f, 0.01f});
                cases.push_back({"adam.update " + s.str() + (amsgrad ? " amsgrad" : "") +
                                     (clip ? " clipped, decay" : ""),
                                 {{s}}, outs,
                                 [amsgrad, clip](Device& d, const std::vector<Tensor>& t) {
                                     const Tensor* in[] = {&t[0]};
                                     Tensor o[] = {t[1], t[2], t[3], amsgrad ? t[4] : t[3]};
                                     Tensor* out[] = {&o[0], &o[1], &o[2], &o[3]};
                                     const float scalars[] = {1e-3f, 0.9f, 0.999f, 1e-7f, 0.271f, 0.0297f,
                                                              clip ? 0.01f : 0.0f, clip ? 0.5f : 1.0f,
                                                              clip ? 0.3f : 0.0f};
                                     BOOST_TEST_REQUIRE(d.try_fused(
                                         "adam.update", {in, std::span<Tensor* const>(out, amsgrad ? 4 : 3), scalars}));
                                 },
                                 1e-5f, 1e-7f});
            }
        for (int nesterov = 0; nesterov < 2; ++nesterov)
            cases.push_back({"sgd.momentum_update " + s.str() + (nesterov ? " nesterov" : ""),
                             {{s}}, {{s}, {s, -0.1f, 0.1f}},
                             [nesterov](Device& d, const std::vector<Tensor>& t) {
                                 const Tensor* in[] = {&t[0]};
                                 Tensor o[] = {t[1], t[2]};
                                 Tensor* out[] = {&o[0], &o[1]};
                                 const float scalars[] = {0.1f, 0.9f, float(nesterov), 1e-4f, 0.8f, 1.5f};
                                 BOOST_TEST_REQUIRE(d.try_fused("sgd.momentum_update", {in, out, scalars}));
                             },
                             1e-5f, 1e-7f});
    }
    return cases;
}

void check_all(const std::vector<Case>& cases, Device& device = opencl()) {
    std::uint32_t seed = 1;
    for (const Case& c : cases) check_case(c, seed++, device);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(conformance)

BOOST_AUTO_TEST_CASE(identity) {
    BOOST_TEST(opencl().name() == "opencl");
    const std::string d = opencl().description();
    BOOST_TEST(d.rfind("opencl:0: ", 0) == 0, d);
    BOOST_TEST(d.find("GEMM: own direct kernel below 256 each way, else own tiled kernel") !=
                   std::string::npos, d);  // PoCL is a CPU
}

BOOST_AUTO_TEST_CASE(elementwise) { check_all(elementwise_cases()); }
BOOST_AUTO_TEST_CASE(reductions_and_softmax) { check_all(reduce_softmax_cases()); }
// On PoCL (a CPU), gemm=auto runs the direct kernel on the small cases and the tiled one
// on those of 256 or more each way; gemm=direct runs the direct kernel on all of them.
BOOST_AUTO_TEST_CASE(gemm) { check_all(gemm_cases()); }
BOOST_AUTO_TEST_CASE(gemm_direct) {
    static auto direct = load("opencl gemm=direct");
    BOOST_TEST(direct->description().find("GEMM: own direct kernel;") != std::string::npos);
    check_all(gemm_cases(), *direct);
}
// The GPU kernel (tiles in local memory), which auto picks on GPUs without CLBlast.
BOOST_AUTO_TEST_CASE(gemm_tiled) {
    static auto tiled = load("opencl gemm=tiled");
    BOOST_TEST(tiled->description().find("GEMM: own tiled kernel") != std::string::npos);
    check_all(gemm_cases(), *tiled);
}
// Smaller tiles: 16 x 16 work-items with one run of 4 x 4 each (128-wide tiles have two).
BOOST_AUTO_TEST_CASE(gemm_tiled_small_tiles) {
    check_all(gemm_cases(), *load("opencl gemm=tiled gemm_tile=64"));
    BOOST_CHECK_EXCEPTION(load("opencl gemm_tile=96"), plexus::Error, [](const plexus::Error& e) {
        return std::string(e.what()).find("gemm_tile=96: must be 64 or 128") != std::string::npos;
    });
}
BOOST_AUTO_TEST_CASE(random_matches_cpu) { check_all(random_cases()); }
BOOST_AUTO_TEST_CASE(fused) { check_all(fused_cases()); }

BOOST_AUTO_TEST_CASE(unknown_fused_key_is_declined) {
    Tensor x = opencl().alloc({2, 2});
    const Tensor* in[] = {&x};
    Tensor* out[] = {&x};
    BOOST_TEST(!opencl().try_fused("dense.forward_bias_relu", {in, out, {}}));
    BOOST_TEST(!opencl().try_fused("", {in, out, {}}));
}

BOOST_AUTO_TEST_CASE(random_is_deterministic_and_well_distributed) {
    Device& d = opencl();
    const std::size_t n = 100000;
    const Tensor a = d.alloc({n}), b = d.alloc({n});
    d.random(Distribution::normal, 9, 3, a, 1.0f, 2.0f);
    d.random(Distribution::uniform, 1, 1, b, 0.0f, 1.0f);  // draws between do not matter
    const Tensor c = d.alloc({n});
    d.random(Distribution::normal, 9, 3, c, 1.0f, 2.0f);
    const Floats va = plexus::testing::to_host(d, a), vc = plexus::testing::to_host(d, c);
    BOOST_TEST((va == vc));
    const double mean = std::accumulate(va.begin(), va.end(), 0.0) / n;
    double var = 0.0;
    for (float v : va) var += (v - mean) * (v - mean);
    BOOST_TEST(std::fabs(mean - 1.0) < 0.03);  // 4.7 standard errors
    BOOST_TEST(std::fabs(std::sqrt(var / n) - 2.0) < 0.03);
    const Floats vb = plexus::testing::to_host(d, b);
    BOOST_TEST(*std::min_element(vb.begin(), vb.end()) >= 0.0f);
    BOOST_TEST(*std::max_element(vb.begin(), vb.end()) < 1.0f);
    BOOST_TEST(std::fabs(std::accumulate(vb.begin(), vb.end(), 0.0) / n - 0.5) < 0.005);
}

BOOST_AUTO_TEST_CASE(errors_name_the_op_and_operand) {
    Device& d = opencl();
    const Tensor a = d.alloc({2, 3}), b = d.alloc({2, 2}), c = d.alloc({2, 2});
    BOOST_CHECK_EXCEPTION(d.gemm(Transpose::no, Transpose::no, 1, a, b, 0, c), DeviceError,
                          [](const DeviceError& e) { return std::string(e.what()).find("gemm: op(a) is 2x3") != std::string::npos; });
    BOOST_CHECK_THROW(d.binary(BinaryOp::add, a, d.alloc({4}), d.alloc({2, 3})), DeviceError);
    BOOST_CHECK_THROW(d.unary(UnaryOp::neg, a, b), DeviceError);
    const Tensor on_cpu = cpu().alloc({2, 2});
    BOOST_CHECK_EXCEPTION(d.copy(on_cpu, c), DeviceError, [](const DeviceError& e) {
        return std::string(e.what()).find("another device") != std::string::npos;
    });
    BOOST_CHECK_THROW(d.reduce(ReduceOp::mean, d.alloc({0, 3}), Axis::rows, d.alloc({3})), DeviceError);
}

BOOST_AUTO_TEST_CASE(a_tensor_too_large_names_its_size_and_suggests_a_smaller_batch) {
    // 15.6 GB: beyond PoCL's largest buffer here (a quarter of memory) and beyond most GPUs'.
    BOOST_CHECK_EXCEPTION(opencl().alloc({3900000, 1000}), DeviceError, [](const DeviceError& e) {
        const std::string m = e.what();
        return m.find("15600000000 bytes") != std::string::npos &&
               m.find("smaller batch") != std::string::npos;
    });
}

BOOST_AUTO_TEST_SUITE_END()

// Uploads return before the transfer has run (they are staged in pinned buffers and queued
// behind the kernels); these check that the host's memory is free to reuse at once and that
// the queue keeps every upload in order with the kernels around it.
BOOST_AUTO_TEST_SUITE(uploads)

// A GEMM of about 0.1 s on PoCL, queued first so the uploads after it are still pending
// when the host overwrites their sources.
void keep_the_queue_busy(Device& d) {
    static const Tensor a = d.alloc({512, 512}), c = d.alloc({512, 512});
    d.fill(a, 0.5f);
    d.gemm(Transpose::no, Transpose::no, 1.0f, a, a, 0.0f, c);
}

BOOST_AUTO_TEST_CASE(the_host_buffer_may_be_reused_when_upload_returns) {
    Device& d = opencl();
    // More uploads than staging slots, sizes that make slots grow (over 1 MiB), and one over
    // the staging limit (16 MiB), which blocks.
    const std::vector<std::size_t> sizes = {1, 7, 300000, 5, 1 << 20, 3, 4500000, 2, 300001, 9};
    std::vector<Tensor> tensors;
    keep_the_queue_busy(d);
    Floats host;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        tensors.push_back(d.alloc({sizes[i]}));
        host.assign(sizes[i], 0.0f);
        for (std::size_t j = 0; j < sizes[i]; ++j) host[j] = static_cast<float>(i * 1000 + j % 997);
        d.upload(tensors.back(), host);
        std::fill(host.begin(), host.end(), kNaN);  // what the transfer must not see
    }
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        const Floats got = plexus::testing::to_host(d, tensors[i]);
        std::size_t wrong = 0;
        for (std::size_t j = 0; j < sizes[i]; ++j)
            wrong += got[j] != static_cast<float>(i * 1000 + j % 997);
        BOOST_TEST(wrong == 0u, "upload " << i << " of " << sizes[i] << " floats: " << wrong << " wrong");
    }
}

BOOST_AUTO_TEST_CASE(uploads_stay_in_order_with_the_kernels_around_them) {
    Device& d = opencl();
    const Tensor x = d.alloc({4, 3}), y = d.alloc({4, 3});
    d.upload(x, Floats(12, 1.0f));
    keep_the_queue_busy(d);
    d.unary(UnaryOp::scale, x, y, 2.0f);        // reads the first upload ...
    d.upload(x.rows(1, 2), Floats(6, 10.0f));   // ... before this one overwrites rows 1-2
    d.binary(BinaryOp::add, x, y, y);           // reads the second
    BOOST_TEST((plexus::testing::to_host(d, y) ==
                Floats{3, 3, 3, 12, 12, 12, 12, 12, 12, 3, 3, 3}));
    BOOST_TEST((plexus::testing::to_host(d, x) ==
                Floats{1, 1, 1, 10, 10, 10, 10, 10, 10, 1, 1, 1}));
}

BOOST_AUTO_TEST_SUITE_END()

#ifdef PLEXUS_HAVE_CLBLAST
// CLBlast is chosen on GPUs; on PoCL it is asked for explicitly. Its GEMM must agree with the
// CPU device like ours does (or, should it fail here, the own kernel must have taken over).
BOOST_AUTO_TEST_CASE(clblast_gemm_matches_cpu) {
    static auto clblast = load("opencl gemm=clblast");
    BOOST_TEST(clblast->description().find("GEMM: CLBlast") != std::string::npos,
               clblast->description());
    check_all(gemm_cases(), *clblast);
    // No case made it fall back to the own kernel (its scratch buffer was big enough).
    BOOST_TEST(clblast->description().find("CLBlast failed") == std::string::npos,
               clblast->description());
}
#endif
