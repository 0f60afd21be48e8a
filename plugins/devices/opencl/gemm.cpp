// GEMM on the OpenCL device: CLBlast (Nugteren, "CLBlast: A Tuned OpenCL BLAS Library",
// IWOCL 2018) where the plugin was built with it and the device is a GPU; otherwise our own
// kernels: kernels/gemm.cl (tiles staged in local memory, for GPUs, and on CPUs for GEMMs of
// 256 or more each way) or kernels/gemm_direct.cl (no local memory or barriers, float4
// blocks: what CPU implementations such as PoCL run well on small GEMMs). When CLBlast fails,
// our kernel takes over for the rest of the run and description() says why.
#include <algorithm>
#include <iostream>
#include <string>

#ifdef PLEXUS_HAVE_CLBLAST
#include <clblast.h>
#endif

#include "opencl_device.hpp"

namespace plexus_opencl {

using plexus::Tensor;
using plexus::Transpose;

void OpenClDevice::gemm(Transpose ta, Transpose tb, float alpha, const Tensor& a, const Tensor& b,
                        float beta, const Tensor& c) {
    view(a, "gemm", "a");
    view(b, "gemm", "b");
    view(c, "gemm", "c");
    const bool at = ta == Transpose::yes, bt = tb == Transpose::yes;
    const std::size_t m = at ? a.cols() : a.rows(), k = at ? a.rows() : a.cols();
    const std::size_t kb = bt ? b.cols() : b.rows(), n = bt ? b.rows() : b.cols();
    if (kb != k || c.rows() != m || c.cols() != n) [[unlikely]]
        fail("gemm: op(a) is " + std::to_string(m) + "x" + std::to_string(k) + " (a " +
             a.shape().str() + (at ? " transposed" : "") + "), op(b) is " + std::to_string(kb) +
             "x" + std::to_string(n) + " (b " + b.shape().str() + (bt ? " transposed" : "") +
             "), c is " + c.shape().str() + "; need op(a) MxK, op(b) KxN and c MxN");
    if (overlaps(c, a) || overlaps(c, b)) [[unlikely]]
        fail("gemm: c overlaps a or b; GEMM needs a separate output");
    if (m == 0 || n == 0) return;
    if (gemm_ == GemmChoice::clblast && k > 0 && gemm_clblast(at, bt, m, n, k, alpha, a, b, beta, c))
        return;
    gemm_own(at, bt, m, n, k, alpha, a, b, beta, c);
}

void OpenClDevice::gemm_own(bool at, bool bt, std::size_t m, std::size_t n, std::size_t k,
                            float alpha, const Tensor& a, const Tensor& b, float beta,
                            const Tensor& c) {
    const View va = view(a, "gemm", "a"), vb = view(b, "gemm", "b"), vc = view(c, "gemm", "c");
    const auto u = [](std::size_t v) { return static_cast<cl_uint>(v); };
    // gemm=auto on a CPU: the direct kernel for GEMMs with a side under 256 (batches of 128,
    // the output layer's 10 columns), where it was faster; the tiled one from 256 up, where
    // the direct kernel's strided reads of a transposed A made it up to 7x slower (PoCL,
    // bench/device_gemm.cpp; the wide MLP trained 2.4x faster).
    const bool tiled_pays = direct_small_only_ && m >= 256 && n >= 256 && k >= 256;
    if (own_gemm_ == GemmChoice::direct && !tiled_pays) {
        // CPUs (PoCL): no local memory, no barriers; a 4x4 block of C per work-item.
        launch(Kernel::gemm_direct, "gemm", {(n + 3) / 4, (m + 3) / 4}, {0, 0}, u(m), u(n), u(k), alpha,
               va, u(a.cols()), cl_int{at}, vb, u(b.cols()), cl_int{bt}, beta, vc, u(c.cols()));
        return;
    }
    // A work-group of r x r work-items per GEMM_TS x GEMM_TS tile of C (dimension 0 along N).
    const std::size_t r = gemm_tile_ / gemm_wpt_;
    const std::size_t tiles_n = (n + gemm_tile_ - 1) / gemm_tile_;
    const std::size_t tiles_m = (m + gemm_tile_ - 1) / gemm_tile_;
    launch(Kernel::gemm, "gemm", {tiles_n * r, tiles_m * r}, {r, r}, u(m),
           u(n), u(k), alpha, va, u(a.cols()), cl_int{at}, vb, u(b.cols()), cl_int{bt}, beta, vc,
           u(c.cols()));
}

#ifdef PLEXUS_HAVE_CLBLAST
bool OpenClDevice::gemm_clblast(bool at, bool bt, std::size_t m, std::size_t n, std::size_t k,
                                float alpha, const Tensor& a, const Tensor& b, float beta,
                                const Tensor& c) {
    const View va = view(a, "gemm", "a"), vb = view(b, "gemm", "b"), vc = view(c, "gemm", "c");
    // The device contract says beta == 0 does not read c (it may hold NaN); CLBlast's padded
    // paths may, so c is zeroed first.
    if (beta == 0.0f) fill(c, 0.0f);
    cl_command_queue queue = queue_;
    const auto layout = clblast::Layout::kRowMajor;
    const auto ta = at ? clblast::Transpose::kYes : clblast::Transpose::kNo;
    const auto tb = bt ? clblast::Transpose::kYes : clblast::Transpose::kNo;
    // CLBlast pads and transposes operands into a scratch buffer, which it would create and
    // free on every call; ours is passed on every call and grown (then reused) only when
    // CLBlast says it is too small, so a training step allocates and queries nothing.
    const auto grow_scratch = [&](std::size_t bytes) {
        if (clblast_temp_) clReleaseMemObject(clblast_temp_);
        clblast_temp_bytes_ = 0;
        cl_int err = CL_SUCCESS;
        clblast_temp_ = clCreateBuffer(context_, CL_MEM_READ_WRITE, bytes, nullptr, &err);
        if (err != CL_SUCCESS || !clblast_temp_) {
            clblast_temp_ = nullptr;
            fail_enqueue(err, "gemm (CLBlast's scratch buffer)");
        }
        clblast_temp_bytes_ = bytes;
    };
    const auto run = [&] {
        return clblast::Gemm<float>(layout, ta, tb, m, n, k, alpha, va.mem, va.offset, a.cols(),
                                    vb.mem, vb.offset, b.cols(), beta, vc.mem, vc.offset, c.cols(),
                                    &queue, nullptr, clblast_temp_);
    };
    if (!clblast_temp_) grow_scratch(std::size_t{1} << 20);  // never null: null means "make one"
    auto status = run();
    if (status == clblast::StatusCode::kInsufficientMemoryTemp) {  // checked before it queues
        std::size_t bytes = 0;
        status = clblast::GemmTempBufferSize<float>(layout, ta, tb, m, n, k, va.offset, a.cols(),
                                                    vb.offset, b.cols(), vc.offset, c.cols(),
                                                    &queue, bytes);
        if (status == clblast::StatusCode::kSuccess) {
            grow_scratch(std::max(bytes, 2 * clblast_temp_bytes_));
            status = run();
        }
    }
    if (status == clblast::StatusCode::kSuccess) return true;
    const int code = static_cast<int>(status);
    if (is_out_of_memory(code)) fail_enqueue(code, "gemm (CLBlast)");
    gemm_note_ = "CLBlast failed with status " + std::to_string(code) + ", so not CLBlast";
    std::cerr << "plexus: opencl: CLBlast GEMM failed (status " << code
              << "); using the own GEMM kernel from now on\n";
    gemm_ = own_gemm_;
    return false;
}
#else
bool OpenClDevice::gemm_clblast(bool, bool, std::size_t, std::size_t, std::size_t, float,
                                const Tensor&, const Tensor&, float, const Tensor&) {
    return false;
}
#endif

}  // namespace plexus_opencl
