// The primitive ops' cases of the conformance table: every op of plexus/device.hpp, on odd
// sizes, a single row and a single column, with views at an offset, transposes, aliasing and
// outputs that must not be read (NaN in them must not leak into the result). A new primitive
// op gets its cases here.
#include "device_cases.hpp"

#include <fmt/format.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace plexus::testing::detail {
namespace {

using Floats = std::vector<float>;
using Tensors = std::vector<Tensor>;


// Shapes with odd sizes, a single row and a single column.
const std::vector<Shape> kShapes = {{1, 1}, {1, 7}, {5, 1}, {3, 5}, {17, 33}, {128, 10}, {65, 257}};

// The unary, binary and reduce cases loop over every value of their enum (plexus/device.hpp's
// `count`), so an op added there gets its cases here without a hand list to forget.
template <class Op, std::size_t N = static_cast<std::size_t>(Op::count)>
constexpr std::array<Op, N> every() {
    std::array<Op, N> ops{};
    for (std::size_t i = 0; i < N; ++i) ops[i] = static_cast<Op>(i);
    return ops;
}

void unary_cases(std::vector<Case>& cases) {
    for (const UnaryOp op : every<UnaryOp>()) {
        const std::string_view name = op_name(op);
        const bool positive =
            op == UnaryOp::sqrt || op == UnaryOp::log || op == UnaryOp::reciprocal;
        for (const Shape& s : {Shape{1, 1}, Shape{3, 5}, Shape{65, 257}}) {
            const Operand x{s, positive ? 0.1f : -6.0f, 6.0f};
            cases.push_back({fmt::format("unary {}", name),
                             s.str(),
                             {x},
                             {{s}},
                             [op](Device& d, const Tensors& t) { d.unary(op, t[0], t[1], 0.3f); }});
            cases.push_back({fmt::format("unary {} in place", name),
                             s.str(),
                             {x},
                             {},
                             [op](Device& d, const Tensors& t) { d.unary(op, t[0], t[0], 1.7f); }});
        }
    }
    // Zeros give infinities (1/+0 = inf, 1/-0 = -inf, log(±0) = -inf): a device that gets
    // them right must pass, since equal infinities are an exact match.
    const Shape z{1, 4};
    for (const UnaryOp op : {UnaryOp::reciprocal, UnaryOp::log})
        cases.push_back({fmt::format("unary {} of zero", op_name(op)),
                         z.str(),
                         {{z, 0, 0, {0.0f, -0.0f, 2.0f, 0.0f}}},
                         {{z}},
                         [op](Device& d, const Tensors& t) { d.unary(op, t[0], t[1], 0.0f); }});
}

void binary_cases(std::vector<Case>& cases) {
    for (const BinaryOp op : every<BinaryOp>()) {
        const std::string_view name = op_name(op);
        const auto run = [op](Device& d, const Tensors& t) {
            d.binary(op, t[0], t[1], t[2], 0.2f);
        };
        for (const Shape& s : {Shape{1, 7}, Shape{17, 33}}) {
            // b away from 0 for div.
            const Operand a{s, -3.0f, 3.0f};
            const Operand b_full{s, 0.5f, 3.0f}, b_row{Shape{s.cols()}, 0.5f, 3.0f},
                b_scalar{Shape{1}, 0.5f, 3.0f};
            cases.push_back(
                {fmt::format("binary {} elementwise", name), s.str(), {a, b_full}, {{s}}, run});
            cases.push_back({fmt::format("binary {} row", name), s.str(), {a, b_row}, {{s}}, run});
            cases.push_back(
                {fmt::format("binary {} scalar", name), s.str(), {a, b_scalar}, {{s}}, run});
        }
        // Small integers, so equal and greater see ties.
        const Shape s{4, 3};
        const Floats ints = {0, 1, 2, 2, 1, 0, -1, 1, 1, 2, 2, 3};
        cases.push_back(
            {fmt::format("binary {} ties, y aliases a", name),
             s.str(),
             {{s, 0, 0, ints}, {s, 0, 0, Floats(12, 1.0f)}},
             {},
             [op](Device& d, const Tensors& t) { d.binary(op, t[0], t[1], t[0], 0.5f); }});
    }
}

void copy_fill_axpby_cases(std::vector<Case>& cases) {
    for (const Shape& s : kShapes) {
        cases.push_back({"axpby", s.str(), {{s}}, {{s}}, [](Device& d, const Tensors& t) {
                             d.axpby(1.5f, t[0], -0.5f, t[1]);
                         }});
        // beta = 0 must not read y: NaN garbage does not leak into the result.
        cases.push_back({"axpby beta=0",
                         s.str(),
                         {{s}},
                         {{s, 0, 0, Floats(s.numel(), kNaN)}},
                         [](Device& d, const Tensors& t) { d.axpby(2.0f, t[0], 0.0f, t[1]); }});
        cases.push_back({"fill", s.str(), {}, {{s}}, [](Device& d, const Tensors& t) {
                             d.fill(t[0], -3.25f);
                         }});
        cases.push_back(
            {"copy", s.str(), {{s}}, {{Shape{s.numel()}}}, [](Device& d, const Tensors& t) {
                 d.copy(t[0], t[1]);
             }});
    }
    cases.push_back({"copy overlapping views",
                     Shape{10, 3}.str(),
                     {{Shape{10, 3}}},
                     {},
                     [](Device& d, const Tensors& t) {
                         d.copy(t[0].rows(0, 6), t[0].rows(3, 6));  // memmove semantics
                         d.fill(t[0].rows(9, 1), 7.0f);             // a view at an offset
                     }});
}

void reduce_cases(std::vector<Case>& cases) {
    const std::vector<std::pair<Axis, const char*>> axes = {
        {Axis::rows, "rows"}, {Axis::cols, "cols"}, {Axis::all, "all"}};
    const auto out_size = [](Axis axis, const Shape& s) {
        return axis == Axis::rows ? s.cols() : axis == Axis::cols ? s.rows() : std::size_t{1};
    };
    for (const ReduceOp op : every<ReduceOp>())
        for (const auto& [axis, axis_name] : axes)
            for (const Shape& s : kShapes)
                cases.push_back({fmt::format("reduce {} {}", op_name(op), axis_name),
                                 s.str(),
                                 {{s}},
                                 {{Shape{out_size(axis, s)}}},
                                 [op, axis = axis](Device& d, const Tensors& t) {
                                     d.reduce(op, t[0], axis, t[1]);
                                 },
                                 1e-4,
                                 1e-4});
    // Ties: argmax takes the first maximum, in every direction.
    const Floats ties = {1, 3, 3, 0, 3, 1, 2, 3, 3, 3, 1, 0};
    const Shape tied{3, 4};
    for (const auto& [axis, axis_name] : axes)
        cases.push_back({fmt::format("reduce argmax {} ties", axis_name),
                         tied.str(),
                         {{tied, 0, 0, ties}},
                         {{Shape{out_size(axis, tied)}}},
                         [axis = axis](Device& d, const Tensors& t) {
                             d.reduce(ReduceOp::argmax, t[0], axis, t[1]);
                         }});
    // A large mean with a small spread, and a long row: sums must not drift.
    cases.push_back(
        {"reduce sum all, mean 1000",
         Shape{1000, 100}.str(),
         {{Shape{1000, 100}, 999.0f, 1001.0f}},
         {{Shape{1}}},
         [](Device& d, const Tensors& t) { d.reduce(ReduceOp::sum, t[0], Axis::all, t[1]); }});
}

void softmax_cases(std::vector<Case>& cases) {
    for (const Shape& s : kShapes) {
        for (bool log : {false, true})
            cases.push_back({log ? "log_softmax" : "softmax",
                             s.str(),
                             {{s, -8.0f, 8.0f}},
                             {{s}},
                             [log](Device& d, const Tensors& t) { d.softmax(t[0], t[1], log); }});
        cases.push_back({"log_softmax in place, values near 1000",
                         s.str(),
                         {{s, 995.0f, 1005.0f}},
                         {},
                         [](Device& d, const Tensors& t) { d.softmax(t[0], t[0], true); }});
        cases.push_back({"softmax_backward",
                         s.str(),
                         {{s, -3, 3}, {s, -1, 1}},
                         {{s}},
                         [](Device& d, const Tensors& t) {
                             d.softmax(t[0], t[0]);
                             d.softmax_backward(t[0], t[1], t[2]);
                         },
                         1e-4,
                         1e-6});
        cases.push_back({"softmax_backward in place",
                         s.str(),
                         {{s, -3, 3}, {s, -1, 1}},
                         {},
                         [](Device& d, const Tensors& t) {
                             d.softmax(t[0], t[0]);
                             d.softmax_backward(t[0], t[1], t[1]);
                         },
                         1e-4,
                         1e-6});
    }
}

void gemm_cases(std::vector<Case>& cases) {
    // (M, N, K): odd sizes, a single row, a single column, tiles that do not divide, K = 0.
    const std::vector<std::array<std::size_t, 3>> sizes = {
        {1, 1, 1},      {1, 10, 784},   {7, 5, 3},       {33, 65, 17},
        {128, 10, 256}, {100, 300, 70}, {257, 260, 300}, {4, 6, 0}};
    const std::vector<std::pair<float, float>> scales = {
        {1.0f, 0.0f}, {0.5f, 1.0f}, {-2.0f, 0.25f}};
    for (const auto& [m, n, k] : sizes)
        for (Transpose ta : {Transpose::no, Transpose::yes})
            for (Transpose tb : {Transpose::no, Transpose::yes})
                for (const auto& [alpha, beta] : scales) {
                    const bool at = ta == Transpose::yes, bt = tb == Transpose::yes;
                    // beta = 0 must not read c: start it as NaN.
                    Operand c{Shape{m, n}};
                    if (beta == 0.0f) c.values = Floats(m * n, kNaN);
                    cases.push_back(
                        {fmt::format("gemm{}{} alpha={} beta={}", at ? " a^T" : "",
                                     bt ? " b^T" : "", alpha, beta),
                         fmt::format("{}x{}x{}", m, n, k),
                         {{at ? Shape{k, m} : Shape{m, k}}, {bt ? Shape{n, k} : Shape{k, n}}},
                         {c},
                         [ta = ta, tb = tb, alpha = alpha, beta = beta](Device& d,
                                                                        const Tensors& t) {
                             d.gemm(ta, tb, alpha, t[0], t[1], beta, t[2]);
                         },
                         1e-4,
                         1e-4});
                }
    // Operands that are views at an offset, the same tensor as both operands.
    cases.push_back({"gemm a^T a, views at an offset",
                     "5x5x6",
                     {{Shape{9, 5}}},
                     {{Shape{5, 5}}},
                     [](Device& d, const Tensors& t) {
                         const Tensor a = t[0].rows(2, 6);
                         d.gemm(Transpose::yes, Transpose::no, 1.0f, a, a, 0.0f, t[1]);
                     },
                     1e-4,
                     1e-4});
}

// One draw per distribution: its parameters, counter and tolerance. Uniform and Bernoulli use
// the same bits and the same float arithmetic everywhere, so they must match exactly.
struct RandomCase {
    Distribution dist;
    std::uint64_t seed, counter;
    float a, b;
    double rel, abs;
};
constexpr std::array<RandomCase, kDistributionCount> kRandomCases = {{
    {Distribution::uniform, 42, 7, -1.0f, 3.0f, 0.0, 0.0},
    {Distribution::normal, 5, (1ull << 40) + 3, 1.0f, 2.0f, 1e-4, 1e-5},
    {Distribution::bernoulli, 1234, 99, 0.3f, 0.0f, 0.0, 0.0},
}};
// A hand table: kDistributionCount entries, each distribution once.
constexpr bool covers_each_once(const std::array<RandomCase, kDistributionCount>& table) {
    std::array<int, kDistributionCount> seen{};
    for (const RandomCase& c : table) {
        const auto i = static_cast<std::size_t>(c.dist);
        if (i >= kDistributionCount || seen[i]++) return false;
    }
    return true;
}
static_assert(covers_each_once(kRandomCases),
              "kRandomCases must list every plexus::Distribution exactly once");

void random_cases(std::vector<Case>& cases) {
    for (std::size_t n : {1u, 3u, 4u, 1001u})
        for (const RandomCase& r : kRandomCases)
            cases.push_back({fmt::format("random {}", op_name(r.dist)),
                             Shape{n}.str(),
                             {},
                             {{Shape{n}}},
                             [r](Device& d, const Tensors& t) {
                                 d.random(r.dist, r.seed, r.counter, t[0], r.a, r.b);
                             },
                             r.rel,
                             r.abs});
}

}  // namespace

std::vector<Case> primitive_cases() {
    std::vector<Case> cases;
    unary_cases(cases);
    binary_cases(cases);
    copy_fill_axpby_cases(cases);
    reduce_cases(cases);
    softmax_cases(cases);
    gemm_cases(cases);
    random_cases(cases);
    window_cases(cases);
    return cases;
}

}  // namespace plexus::testing::detail
