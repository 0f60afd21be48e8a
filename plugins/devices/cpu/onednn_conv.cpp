// The cpu device's oneDNN module: direct convolutions (oneDNN's JIT kernels, what PyTorch's
// CPU convolutions run) for the conv2d fused keys. Built only when CMake finds oneDNN, as
// plexus_cpu_onednn.so, and loaded by onednn.hpp (why a module: onednn_api.hpp).
//
// oneDNN picks its own blocked layouts (format_tag::any, e.g. nChw16c for activations): x,
// kernel and dy are reordered into them and y, dx and dkernel back to NCHW / OIHW around each
// primitive; a reorder between equal layouts is skipped, and dy is reordered once for both
// backward passes. Every primitive, buffer and scratchpad is made when the plan is created,
// so a step allocates no buffer. Execution goes through the C API with argument arrays built
// once.
#include <omp.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <dnnl.hpp>

#include "onednn_api.hpp"

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// A primitive with its scratchpad and argument array; the user memories in the array get
// their data handles set just before a call.
struct Step {
    dnnl::primitive primitive;
    memory scratchpad;
    std::vector<dnnl_exec_arg_t> args;

    void run(const dnnl::stream& stream) const {
        const dnnl_status_t status = dnnl_primitive_execute(
            primitive.get(), stream.get(), static_cast<int>(args.size()), args.data());
        if (status != dnnl_success)
            throw std::runtime_error("oneDNN: a primitive failed (status " +
                                     std::to_string(static_cast<int>(status)) + ")");
    }
};

class Plan final : public plexus_onednn::ConvPlan {
public:
    explicit Plan(const plexus_onednn::ConvShape& s) {
        const auto dim = [](std::size_t v) { return static_cast<memory::dim>(v); };
        const memory::dims x_dims{dim(s.n), dim(s.c), dim(s.h), dim(s.w)};
        const memory::dims k_dims{dim(s.f), dim(s.c), dim(s.kh), dim(s.kw)};
        const memory::dims y_dims{dim(s.n), dim(s.f), dim(s.oh), dim(s.ow)};
        const memory::dims b_dims{dim(s.f)};
        const memory::dims stride{dim(s.sh), dim(s.sw)};
        const memory::dims dilation{dim(s.dh) - 1, dim(s.dw) - 1};  // oneDNN counts the gaps
        const memory::dims pad_l{dim(s.pad_top), dim(s.pad_left)};
        // The padding after the input that makes oneDNN's output size ours; 0 where the last
        // rows or columns are simply not reached (Window2d implies it by oh, ow).
        const auto after = [](std::size_t in, std::size_t k, std::size_t st, std::size_t d,
                              std::size_t before, std::size_t out) {
            const long long need = static_cast<long long>((out - 1) * st + d * (k - 1) + 1) -
                                   static_cast<long long>(in + before);
            return static_cast<memory::dim>(need > 0 ? need : 0);
        };
        const memory::dims pad_r{after(s.h, s.kh, s.sh, s.dh, s.pad_top, s.oh),
                                 after(s.w, s.kw, s.sw, s.dw, s.pad_left, s.ow)};
        const auto any = [](const memory::dims& d) { return memory::desc(d, dt::f32, tag::any); };
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        const auto algo = dnnl::algorithm::convolution_direct;

        const dnnl::convolution_forward::primitive_desc fpd(
            {dnnl::prop_kind::forward_training, algo, any(x_dims), any(k_dims),
             memory::desc(b_dims, dt::f32, tag::x), any(y_dims), stride, dilation, pad_l, pad_r},
            attr, engine_);
        const dnnl::convolution_backward_data::primitive_desc dpd(
            {algo, any(x_dims), any(k_dims), any(y_dims), stride, dilation, pad_l, pad_r}, attr,
            engine_, fpd);
        const dnnl::convolution_backward_weights::primitive_desc wpd(
            {algo, any(x_dims), any(k_dims), memory::desc(b_dims, dt::f32, tag::x), any(y_dims),
             stride, dilation, pad_l, pad_r},
            attr, engine_, fpd);

        // The caller's arrays, handles set per call.
        x_ = user(x_dims, tag::nchw);
        kernel_ = user(k_dims, tag::oihw);
        bias_ = user(b_dims, tag::x);
        y_ = user(y_dims, tag::nchw);
        dy_ = user(y_dims, tag::nchw);
        dx_ = user(x_dims, tag::nchw);
        dkernel_ = user(k_dims, tag::oihw);
        dbias_ = user(b_dims, tag::x);
        zero_bias_ = memory(bias_.get_desc(), engine_);  // forward without a bias adds these
        std::fill_n(static_cast<float*>(zero_bias_.get_data_handle()), s.f, 0.0f);
        spare_dbias_ = memory(bias_.get_desc(), engine_);  // dkernel without dbias

        const memory fx = own(fpd.src_desc(), x_), fk = own(fpd.weights_desc(), kernel_);
        const memory fy = own(fpd.dst_desc(), y_);
        add_reorder(forward_, x_, fx);
        add_reorder(forward_, kernel_, fk);
        forward_bias_ = add(forward_, dnnl::convolution_forward(fpd), fpd.scratchpad_desc(),
                            {{DNNL_ARG_SRC, fx}, {DNNL_ARG_WEIGHTS, fk},
                             {DNNL_ARG_BIAS, bias_}, {DNNL_ARG_DST, fy}});
        add_reorder(forward_, fy, y_);

        const memory dk = own(dpd.weights_desc(), kernel_), ddy = own(dpd.diff_dst_desc(), dy_);
        const memory ddx = own(dpd.diff_src_desc(), dx_);
        add_reorder(data_, dy_, ddy);
        add_reorder(data_, kernel_, dk);
        add(data_, dnnl::convolution_backward_data(dpd), dpd.scratchpad_desc(),
            {{DNNL_ARG_DIFF_DST, ddy}, {DNNL_ARG_WEIGHTS, dk}, {DNNL_ARG_DIFF_SRC, ddx}});
        add_reorder(data_, ddx, dx_);

        // Both backward passes usually want dy in the same blocked layout: the weights pass
        // then reads the buffer the data pass reordered dy into, and skips its own reorder
        // of dy whenever the data pass ran first (a layer that needs dx).
        const bool share_dy = wpd.diff_dst_desc() == ddy.get_desc();
        const memory wx = own(wpd.src_desc(), x_);
        const memory wdy = share_dy ? ddy : own(wpd.diff_dst_desc(), dy_);
        const memory wdk = own(wpd.diff_weights_desc(), dkernel_);
        add_reorder(weights_, x_, wx);
        const std::size_t steps_before_dy = weights_.size();
        add_reorder(weights_, dy_, wdy);
        if (share_dy && weights_.size() > steps_before_dy) dy_reorder_ = steps_before_dy;
        weights_bias_ = add(weights_, dnnl::convolution_backward_weights(wpd),
                            wpd.scratchpad_desc(),
                            {{DNNL_ARG_SRC, wx}, {DNNL_ARG_DIFF_DST, wdy},
                             {DNNL_ARG_DIFF_WEIGHTS, wdk}, {DNNL_ARG_DIFF_BIAS, dbias_}});
        add_reorder(weights_, wdk, dkernel_);
    }

    void forward(const float* x, const float* kernel, const float* bias, float* y) override {
        set(x_, x);
        set(kernel_, kernel);
        set(bias_, bias);
        set(y_, y);
        // The bias argument is the caller's array or the plan's zeros.
        forward_[forward_bias_.first].args[forward_bias_.second].memory =
            bias ? bias_.get() : zero_bias_.get();
        run(forward_);
    }

    void backward(const float* x, const float* kernel, const float* dy, float* dx,
                  float* dkernel, float* dbias) override {
        set(dy_, dy);
        if (dx) {
            set(kernel_, kernel);
            set(dx_, dx);
            run(data_);
        }
        if (dkernel) {
            set(x_, x);
            set(dkernel_, dkernel);
            set(dbias_, dbias);
            weights_[weights_bias_.first].args[weights_bias_.second].memory =
                dbias ? dbias_.get() : spare_dbias_.get();
            run(weights_, dx ? dy_reorder_ : kNoStep);  // dy is blocked already after data_
        }
    }

private:
    memory user(const memory::dims& dims, tag t) const {
        return memory({dims, dt::f32, t}, engine_, DNNL_MEMORY_NONE);
    }
    // The primitive's own buffer for `want`, or the user memory itself when it already has
    // that layout (no reorder then).
    memory own(const memory::desc& want, const memory& user_memory) const {
        return want == user_memory.get_desc() ? user_memory : memory(want, engine_);
    }
    static void set(const memory& m, const void* p) {
        m.set_data_handle(const_cast<void*>(p));  // oneDNN's handle is not const
    }
    void add_reorder(std::vector<Step>& steps, const memory& from, const memory& to) {
        if (from.get() == to.get()) return;
        add(steps, dnnl::reorder(from, to), {}, {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}});
    }
    // Appends a step; returns where its last argument sits (step, index) so the bias slot
    // can be repointed per call.
    std::pair<std::size_t, std::size_t> add(std::vector<Step>& steps, dnnl::primitive p,
                                            const memory::desc& scratch,
                                            std::vector<std::pair<int, memory>> args) {
        Step step{std::move(p), memory(), {}};
        std::size_t bias_index = 0;
        for (auto& [arg, m] : args) {
            if (arg == DNNL_ARG_BIAS || arg == DNNL_ARG_DIFF_BIAS) bias_index = step.args.size();
            step.args.push_back({arg, m.get()});
            keep_.push_back(m);
        }
        if (scratch.get_size() > 0) {
            step.scratchpad = memory(scratch, engine_);
            step.args.push_back({DNNL_ARG_SCRATCHPAD, step.scratchpad.get()});
        }
        steps.push_back(std::move(step));
        return {steps.size() - 1, bias_index};
    }
    // Runs every step but `skip`.
    void run(const std::vector<Step>& steps, std::size_t skip = kNoStep) {
        for (std::size_t i = 0; i < steps.size(); ++i)
            if (i != skip) steps[i].run(stream_);
        stream_.wait();
    }

    dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
    dnnl::stream stream_{engine_};
    memory x_, kernel_, bias_, y_, dy_, dx_, dkernel_, dbias_, zero_bias_, spare_dbias_;
    std::vector<memory> keep_;  // every memory an argument array points to
    std::vector<Step> forward_, data_, weights_;
    std::pair<std::size_t, std::size_t> forward_bias_, weights_bias_;
    static constexpr std::size_t kNoStep = static_cast<std::size_t>(-1);
    // The step of weights_ that reorders dy into the buffer data_ also fills; kNoStep when
    // the two passes do not share one.
    std::size_t dy_reorder_ = kNoStep;
};

}  // namespace

extern "C" __attribute__((visibility("default"))) plexus_onednn::ConvPlan* plexus_onednn_create(
    const plexus_onednn::ConvShape& shape, int threads, char* error, std::size_t error_size) {
    try {
        // One owner of the cores: as many OpenMP threads as OpenBLAS runs (DESIGN §7).
        if (threads > 0) omp_set_num_threads(threads);
        return new Plan(shape);
    } catch (const std::exception& e) {
        std::snprintf(error, error_size, "%s", e.what());
    } catch (...) {
        std::snprintf(error, error_size, "unknown error");
    }
    return nullptr;
}
