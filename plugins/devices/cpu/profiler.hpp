// The CPU device's per-op timer: with PLEXUS_PROFILE=1 in the environment, the device times
// every op (GEMMs by shape and transposes, elementwise ops by name, fused kernels by key)
// and prints a table to stderr when it is destroyed: calls, total milliseconds, share of the
// time between the first and the last op, and GFLOP/s for GEMMs. The time not spent in any
// op is the framework's own (the trainer, layers and metrics deciding what to run) plus the
// waits for the next batch. Off, each op pays one predictable branch.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "plexus/device.hpp"
#include "plexus/fused.hpp"

namespace plexus_cpu {

class OpProfiler {
public:
    using Clock = std::chrono::steady_clock;

    static bool enabled_by_environment() {
        const char* v = std::getenv("PLEXUS_PROFILE");
        return v && *v && std::strcmp(v, "0") != 0;
    }

    // Starts timing one op; `flops` is counted for GEMMs (2·M·N·K), 0 otherwise.
    Clock::time_point begin() {
        const auto now = Clock::now();
        if (!started_) {
            first_ = now;
            started_ = true;
        }
        return now;
    }

    void end(const std::string& key, Clock::time_point t0, double flops = 0.0) {
        const auto now = Clock::now();
        last_ = now;
        const double seconds = std::chrono::duration<double>(now - t0).count();
        auto it = std::find_if(rows_.begin(), rows_.end(), [&](const Row& r) { return r.key == key; });
        if (it == rows_.end()) {
            rows_.push_back({key, 0, 0.0, 0.0, seconds});
            it = rows_.end() - 1;
        }
        ++it->calls;
        it->seconds += seconds;
        it->flops += flops;
    }

    void print(std::FILE* out) const {
        if (rows_.empty()) return;
        std::vector<Row> rows = rows_;
        std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.seconds > b.seconds; });
        const double span = std::chrono::duration<double>(last_ - first_).count();
        double in_ops = 0.0;
        for (const auto& r : rows) in_ops += r.seconds;
        fmt::print(out, "\ncpu device profile (PLEXUS_PROFILE): {:.3f} s from the first op to the last\n",
                   span);
        fmt::print(out, "  {:<44} {:>9} {:>10} {:>7} {:>8} {:>9} {:>9}\n", "op", "calls", "ms", "share",
                   "GFLOP/s", "first ms", "GFLOP/s'");
        const auto rate = [](double flops, double seconds) {
            return flops > 0 && seconds > 0 ? fmt::format("{:.1f}", flops / seconds / 1e9) : "";
        };
        for (const auto& r : rows) {
            // The first call of a shape makes its kernels (oneDNN generates code per shape) and
            // first touches its buffers: GFLOP/s' is the rate of the calls after it, the one to
            // set against a shape's speed back to back.
            const std::string after_first =
                r.calls > 1 ? rate(r.flops * static_cast<double>(r.calls - 1) / static_cast<double>(r.calls),
                                   r.seconds - r.first)
                            : "";
            fmt::print(out, "  {:<44} {:>9} {:>10.1f} {:>6.1f}% {:>8} {:>9.2f} {:>9}\n", r.key, r.calls,
                       1e3 * r.seconds, span > 0 ? 100.0 * r.seconds / span : 0.0,
                       rate(r.flops, r.seconds), 1e3 * r.first, after_first);
        }
        fmt::print(out, "  {:<44} {:>9} {:>10.1f} {:>6.1f}%\n", "(outside device ops)", "",
                   1e3 * (span - in_ops), span > 0 ? 100.0 * (span - in_ops) / span : 0.0);
    }

private:
    struct Row {
        std::string key;
        unsigned long calls;
        double seconds, flops;
        double first;  // the first call's seconds
    };
    std::vector<Row> rows_;
    Clock::time_point first_{}, last_{};
    bool started_ = false;
};

// Op names for the table: the SDK's (plexus/device.hpp), whose views are string literals and
// so end in a NUL.
template <class Op>
inline const char* op_label(Op op) {
    return plexus::op_name(op).data();
}
inline const char* op_label(plexus::Axis axis) {
    static constexpr const char* kNames[] = {"over rows", "within rows", "all"};
    const auto i = static_cast<std::size_t>(axis);
    return i < std::size(kNames) ? kNames[i] : "?";
}

// A device with every op timed by an OpProfiler; the table prints when it is destroyed.
template <class Device>
class Profiled final : public Device {
public:
    using Device::Device;
    ~Profiled() override { profile_.print(stderr); }

    void gemm(plexus::Transpose ta, plexus::Transpose tb, float alpha, const plexus::Tensor& a,
              const plexus::Tensor& b, float beta, const plexus::Tensor& c) override {
        const auto t0 = profile_.begin();
        Device::gemm(ta, tb, alpha, a, b, beta, c);
        const std::size_t k = ta == plexus::Transpose::yes ? a.rows() : a.cols();
        profile_.end(fmt::format("gemm {}{} {}x{}x{}", ta == plexus::Transpose::yes ? 'T' : 'N',
                                 tb == plexus::Transpose::yes ? 'T' : 'N', c.rows(), c.cols(), k),
                     t0, 2.0 * c.rows() * c.cols() * k);
    }
    void fill(const plexus::Tensor& y, float value) override {
        const auto t0 = profile_.begin();
        Device::fill(y, value);
        profile_.end("fill", t0);
    }
    void copy(const plexus::Tensor& x, const plexus::Tensor& y) override {
        const auto t0 = profile_.begin();
        Device::copy(x, y);
        profile_.end("copy", t0);
    }
    void unary(plexus::UnaryOp op, const plexus::Tensor& x, const plexus::Tensor& y, float alpha) override {
        const auto t0 = profile_.begin();
        Device::unary(op, x, y, alpha);
        profile_.end(std::string("unary ") + op_label(op), t0);
    }
    void binary(plexus::BinaryOp op, const plexus::Tensor& a, const plexus::Tensor& b,
                const plexus::Tensor& y, float alpha) override {
        const auto t0 = profile_.begin();
        Device::binary(op, a, b, y, alpha);
        profile_.end(std::string("binary ") + op_label(op) +
                         (b.numel() == a.numel() ? "" : b.numel() == 1 ? " (scalar b)" : " (row b)"),
                     t0);
    }
    void axpby(float alpha, const plexus::Tensor& x, float beta, const plexus::Tensor& y) override {
        const auto t0 = profile_.begin();
        Device::axpby(alpha, x, beta, y);
        profile_.end("axpby", t0);
    }
    void reduce(plexus::ReduceOp op, const plexus::Tensor& x, plexus::Axis axis,
                const plexus::Tensor& y) override {
        const auto t0 = profile_.begin();
        Device::reduce(op, x, axis, y);
        profile_.end(std::string("reduce ") + op_label(op) + " " + op_label(axis), t0);
    }
    void softmax(const plexus::Tensor& x, const plexus::Tensor& y, bool log) override {
        const auto t0 = profile_.begin();
        Device::softmax(x, y, log);
        profile_.end(log ? "log_softmax" : "softmax", t0);
    }
    void softmax_backward(const plexus::Tensor& y, const plexus::Tensor& dy, const plexus::Tensor& dx) override {
        const auto t0 = profile_.begin();
        Device::softmax_backward(y, dy, dx);
        profile_.end("softmax_backward", t0);
    }
    void random(plexus::Distribution dist, std::uint64_t seed, std::uint64_t counter,
                const plexus::Tensor& y, float a, float b) override {
        const auto t0 = profile_.begin();
        Device::random(dist, seed, counter, y, a, b);
        profile_.end(std::string("random ") + op_label(dist), t0);
    }
protected:
    void write(void* handle, std::size_t offset_bytes, const void* src, std::size_t bytes) override {
        const auto t0 = profile_.begin();
        Device::write(handle, offset_bytes, src, bytes);
        profile_.end("upload", t0);
    }
    void read(const void* handle, std::size_t offset_bytes, void* dst, std::size_t bytes) override {
        const auto t0 = profile_.begin();
        Device::read(handle, offset_bytes, dst, bytes);
        profile_.end("download", t0);
    }

    void run_fused(const plexus::fused::BatchNormForwardTrain& op) override { timed(op, op.x); }
    void run_fused(const plexus::fused::BatchNormForwardInfer& op) override { timed(op, op.x); }
    void run_fused(const plexus::fused::BatchNormBackward& op) override { timed(op, op.dy); }
    void run_fused(const plexus::fused::SoftmaxCrossEntropyBackward& op) override {
        timed(op, op.pred);
    }
    void run_fused(const plexus::fused::AdamUpdate& op) override { timed(op, op.grad); }
    void run_fused(const plexus::fused::SgdMomentumUpdate& op) override { timed(op, op.grad); }
    void run_fused(const plexus::fused::LstmCellForward& op) override { timed(op, op.gates); }
    void run_fused(const plexus::fused::LstmCellBackward& op) override { timed(op, op.gates); }
    void run_fused(const plexus::fused::GruCellForward& op) override { timed(op, op.gates); }
    void run_fused(const plexus::fused::GruCellBackward& op) override { timed(op, op.gates); }
    void run_fused(const plexus::fused::Conv2dForward& op) override {
        timed_conv(op, "forward", 1);
    }
    void run_fused(const plexus::fused::Conv2dBackward& op) override {
        timed_conv(op, op.dx ? (op.dkernel ? "backward" : "backward_data") : "backward_weights",
                   (op.dx ? 1 : 0) + (op.dkernel ? 1 : 0));
    }

    void run_im2col(const plexus::Tensor& x, const plexus::Tensor& col,
                    const plexus::Window2d& w) override {
        const auto t0 = profile_.begin();
        Device::run_im2col(x, col, w);
        profile_.end(fmt::format("im2col {}x{} k{}x{}", w.out_plane(), w.patch(), w.kernel_h,
                                 w.kernel_w),
                     t0);
    }
    void run_col2im(const plexus::Tensor& col, const plexus::Tensor& x,
                    const plexus::Window2d& w) override {
        const auto t0 = profile_.begin();
        Device::run_col2im(col, x, w);
        profile_.end(fmt::format("col2im {}x{} k{}x{}", w.out_plane(), w.patch(), w.kernel_h,
                                 w.kernel_w),
                     t0);
    }
    void run_pool2d(plexus::PoolOp op, const plexus::Tensor& x, const plexus::Tensor& y,
                    const plexus::Tensor& argmax, const plexus::Window2d& w) override {
        const auto t0 = profile_.begin();
        Device::run_pool2d(op, x, y, argmax, w);
        profile_.end(fmt::format("pool2d {} {}x{} k{}x{}", plexus::op_name(op), w.height,
                                 w.width, w.kernel_h, w.kernel_w),
                     t0);
    }
    void run_pool2d_backward(plexus::PoolOp op, const plexus::Tensor& dy,
                             const plexus::Tensor& argmax, const plexus::Tensor& dx,
                             const plexus::Window2d& w) override {
        const auto t0 = profile_.begin();
        Device::run_pool2d_backward(op, dy, argmax, dx, w);
        profile_.end(fmt::format("pool2d_backward {} {}x{} k{}x{}", plexus::op_name(op),
                                 w.height, w.width, w.kernel_h, w.kernel_w),
                     t0);
    }
    void run_transpose(const plexus::Tensor& x, const plexus::Tensor& y, std::size_t batch,
                       std::size_t rows, std::size_t cols, std::size_t inner) override {
        const auto t0 = profile_.begin();
        Device::run_transpose(x, y, batch, rows, cols, inner);
        profile_.end(inner == 1 ? fmt::format("transpose [{}, {}, {}]", batch, rows, cols)
                                : fmt::format("transpose [{}, {}, {}] of {}-float runs", batch,
                                              rows, cols, inner),
                     t0);
    }

private:
    // Large updates are split across the helper threads (fused_args.hpp): a row of their own.
    template <class Op>
    void timed(const Op& op, const plexus::Tensor& lead) {
        const auto t0 = profile_.begin();
        Device::run_fused(op);
        profile_.end(fmt::format("fused {}{}", plexus::fused::key_name(Op::kKey),
                                 lead.numel() >= 32768 ? " (>= 32768 elements)" : ""),
                     t0);
    }

    // A convolution, named and counted as the im2col GEMM it replaces (M = filters, N = the
    // output positions, K = C*kh*kw; `products` such GEMMs), so that bench/vs_pytorch.py can
    // set it against the sgemm ceiling on those shapes.
    template <class Op>
    void timed_conv(const Op& op, const char* pass, int products) {
        const plexus::Window2d w = op.window;
        const std::size_t m = op.filters, n = w.batch * w.out_plane(), k = w.patch();
        const auto t0 = profile_.begin();
        Device::run_fused(op);
        profile_.end(fmt::format("conv2d {} {}x{}x{}", pass, m, n, k), t0,
                     2.0 * products * double(m) * double(n) * double(k));
    }

    OpProfiler profile_;
};

}  // namespace plexus_cpu
