// The OpenCL device class, shared by the files that implement it: plugin.cpp (setup,
// memory, the manifest), ops.cpp (elementwise, reductions, softmax, random), gemm.cpp,
// fused.cpp and window.cpp. Only this plugin includes it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <CL/cl.h>

#include "cl_util.hpp"
#include "platforms.hpp"
#include "plexus/device.hpp"
#include "plexus/params.hpp"

namespace plexus_opencl {

// One entry per kernels/*.cl kernel; kKernelNames gives the OpenCL names in this order.
enum class Kernel : std::size_t {
    fill,
    unary,
    binary,
    axpby,
    reduce_rows,
    reduce_cols,
    softmax,
    softmax_backward,
    random,
    gemm,
    gemm_direct,
    batchnorm_forward,
    batchnorm_backward,
    softmax_cross_entropy_backward,
    adam_update,
    sgd_momentum_update,
    im2col,
    col2im,
    pool2d,
    pool2d_backward,
    transpose,
    lstm_cell_forward,
    lstm_cell_backward,
    gru_cell_forward,
    gru_cell_backward,
    count
};

// A buffer and a view's offset into it, in floats: the (pointer, offset) pair every kernel
// takes, since OpenCL 1.2 sub-buffers need aligned origins and views have arbitrary ones.
struct View {
    cl_mem mem;
    cl_uint offset;
};

// tiled: kernels/gemm.cl (local-memory tiles, for GPUs); direct: kernels/gemm_direct.cl (no
// local memory, for CPUs); clblast: CLBlast.
enum class GemmChoice { tiled, direct, clblast };

class OpenClDevice final : public plexus::Device {
public:
    explicit OpenClDevice(const plexus::Params& params);
    ~OpenClDevice() override;

    std::string name() const override { return "opencl"; }
    std::string description() const override;

    void gemm(plexus::Transpose ta, plexus::Transpose tb, float alpha, const plexus::Tensor& a,
              const plexus::Tensor& b, float beta, const plexus::Tensor& c) override;
    void fill(const plexus::Tensor& y, float value) override;
    void copy(const plexus::Tensor& x, const plexus::Tensor& y) override;
    void unary(plexus::UnaryOp op, const plexus::Tensor& x, const plexus::Tensor& y,
               float alpha) override;
    void binary(plexus::BinaryOp op, const plexus::Tensor& a, const plexus::Tensor& b,
                const plexus::Tensor& y, float alpha) override;
    void axpby(float alpha, const plexus::Tensor& x, float beta, const plexus::Tensor& y) override;
    void reduce(plexus::ReduceOp op, const plexus::Tensor& x, plexus::Axis axis,
                const plexus::Tensor& y) override;
    void softmax(const plexus::Tensor& x, const plexus::Tensor& y, bool log) override;
    void softmax_backward(const plexus::Tensor& y, const plexus::Tensor& dy,
                          const plexus::Tensor& dx) override;
    void random(plexus::Distribution dist, std::uint64_t seed, std::uint64_t counter,
                const plexus::Tensor& y, float a, float b) override;
    void synchronize() override;
    plexus::fused::KeySet fused_keys() const override;

protected:
    void* allocate(std::size_t bytes) override;
    void deallocate(void* handle) noexcept override;
    void write(void* handle, std::size_t offset_bytes, const void* src, std::size_t bytes) override;
    void read(const void* handle, std::size_t offset_bytes, void* dst, std::size_t bytes) override;
    // ---- fused kernels (fused.cpp)
    void run_fused(const plexus::fused::BatchNormForwardTrain& op) override;
    void run_fused(const plexus::fused::BatchNormForwardInfer& op) override;
    void run_fused(const plexus::fused::BatchNormBackward& op) override;
    void run_fused(const plexus::fused::SoftmaxCrossEntropyBackward& op) override;
    void run_fused(const plexus::fused::AdamUpdate& op) override;
    void run_fused(const plexus::fused::SgdMomentumUpdate& op) override;
    void run_fused(const plexus::fused::LstmCellForward& op) override;
    void run_fused(const plexus::fused::LstmCellBackward& op) override;
    void run_fused(const plexus::fused::GruCellForward& op) override;
    void run_fused(const plexus::fused::GruCellBackward& op) override;
    // Window ops (window.cpp).
    void run_im2col(const plexus::Tensor& x, const plexus::Tensor& col,
                    const plexus::Window2d& w) override;
    void run_col2im(const plexus::Tensor& col, const plexus::Tensor& x,
                    const plexus::Window2d& w) override;
    void run_pool2d(plexus::PoolOp op, const plexus::Tensor& x, const plexus::Tensor& y,
                    const plexus::Tensor& argmax, const plexus::Window2d& w) override;
    void run_pool2d_backward(plexus::PoolOp op, const plexus::Tensor& dy,
                             const plexus::Tensor& argmax, const plexus::Tensor& dx,
                             const plexus::Window2d& w) override;
    void run_transpose(const plexus::Tensor& x, const plexus::Tensor& y, std::size_t batch,
                       std::size_t rows, std::size_t cols, std::size_t inner) override;

private:
    void setup(const plexus::Params& params);
    void release() noexcept;

    // ---- launching (plugin.cpp)
    void set_arg(cl_kernel k, cl_uint& index, const View& v) const;
    template <class T>
    void set_arg(cl_kernel k, cl_uint& index, const T& value) const {
        static_assert(sizeof(T) == 4 || sizeof(T) == 8, "kernel scalars are 32 or 64 bits");
        set_raw_arg(k, index++, sizeof value, &value);
    }
    void set_raw_arg(cl_kernel k, cl_uint index, std::size_t size, const void* value) const;
    // Enqueues `kernel` over `global` work-items (rounded up to whole work-groups when
    // `local` is given; local {0, 0} lets the runtime choose).
    void enqueue(Kernel kernel, const char* op, std::array<std::size_t, 2> global,
                 std::array<std::size_t, 2> local);
    template <class... Args>
    void launch(Kernel kernel, const char* op, std::array<std::size_t, 2> global,
                std::array<std::size_t, 2> local, const Args&... args) {
        cl_kernel k = kernels_[static_cast<std::size_t>(kernel)];
        cl_uint index = 0;
        (set_arg(k, index, args), ...);
        enqueue(kernel, op, global, local);
    }
    // A 1-D launch over n elements (nothing for n == 0).
    template <class... Args>
    void launch_1d(Kernel kernel, const char* op, std::size_t n, const Args&... args) {
        if (n) launch(kernel, op, {n, 1}, {0, 0}, args...);
    }
    // launch_1d with the fields of `w` after `args` (window.cpp, the only user).
    template <class... Args>
    void launch_window(Kernel kernel, const char* op, std::size_t n, const plexus::Window2d& w,
                       const Args&... args);
    [[noreturn]] void fail_enqueue(cl_int err, const char* op) const;
    // Work-group size for a row kernel over rows of `cols` elements.
    std::size_t row_group(Kernel kernel, std::size_t cols) const;

    // ---- operands (plugin.cpp)
    View view(const plexus::Tensor& t, const char* op, const char* what) const;
    static void require_numel(const char* op, const char* what, const plexus::Tensor& t,
                              std::size_t want);
    static bool overlaps(const plexus::Tensor& a, const plexus::Tensor& b);

    // ---- GEMM (gemm.cpp)
    void gemm_own(bool at, bool bt, std::size_t m, std::size_t n, std::size_t k, float alpha,
                  const plexus::Tensor& a, const plexus::Tensor& b, float beta,
                  const plexus::Tensor& c);
    bool gemm_clblast(bool at, bool bt, std::size_t m, std::size_t n, std::size_t k,
                      float alpha, const plexus::Tensor& a, const plexus::Tensor& b, float beta,
                      const plexus::Tensor& c);

    // Both batchnorm forward modes run one kernel (fused.cpp).
    void batchnorm_forward(const plexus::Tensor& x, const plexus::Tensor* gamma,
                           const plexus::Tensor* beta, const plexus::Tensor& y,
                           const plexus::Tensor* xhat, const plexus::Tensor* mean,
                           const plexus::Tensor* invstd, const plexus::Tensor& moving_mean,
                           const plexus::Tensor& moving_variance, std::size_t spatial,
                           float epsilon, float momentum, bool train);

    // Uploads go through pinned host buffers, so write() returns once the bytes are copied
    // there and the transfer runs behind the queued kernels (see write()).
    struct Staging {
        cl_mem mem = nullptr;
        void* host = nullptr;  // mapped for the buffer's life
        std::size_t capacity = 0;
        cl_event done = nullptr;  // the last transfer from `host`
    };
    static constexpr std::size_t kStagingSlots = 4;
    static constexpr std::size_t kStagingMax = std::size_t{16} << 20;  // larger ones block
    std::array<Staging, kStagingSlots> staging_{};
    std::size_t next_staging_ = 0;
    bool overlap_uploads_ = true;
    // The next slot, idle and holding at least `bytes` (plugin.cpp).
    Staging& staging_for(std::size_t bytes);
    void release_staging(Staging& s) noexcept;

    DeviceEntry entry_;
    std::size_t index_ = 0;  // in enumerate_devices() order: opencl:<index>
    cl_context context_ = nullptr;
    cl_command_queue queue_ = nullptr;
    cl_program program_ = nullptr;
    std::array<cl_kernel, static_cast<std::size_t>(Kernel::count)> kernels_{};
    std::array<std::size_t, static_cast<std::size_t>(Kernel::count)> kernel_group_{};
    std::size_t row_group_max_ = 1;  // PLEXUS_WG the program was built with
    std::size_t gemm_tile_ = 128, gemm_wpt_ = 8;  // kernels/gemm.cl's GEMM_TS, GEMM_WPT
    GemmChoice gemm_ = GemmChoice::direct;
    GemmChoice own_gemm_ = GemmChoice::direct;  // what runs when CLBlast is not used
    bool direct_small_only_ = false;  // gemm=auto on a CPU: direct below 256 each way, else tiled
    cl_mem clblast_temp_ = nullptr;  // CLBlast's scratch, grown to the largest need
    std::size_t clblast_temp_bytes_ = 0;
    std::string gemm_note_;      // why our kernel runs where CLBlast was wanted
    std::string program_note_;   // "built in 1.2 s" / "from cache, 0.03 s" / "cache off"
};

}  // namespace plexus_opencl
