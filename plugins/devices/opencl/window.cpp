// The OpenCL device's window ops (plexus/device.hpp): not yet implemented on this device.
#include "opencl_device.hpp"

namespace plexus_opencl {

namespace {
[[noreturn]] void not_yet(const char* op) {
    throw plexus::DeviceError(std::string("opencl: ") + op +
                              " is not implemented on this device yet; use device = cpu");
}
}  // namespace

void OpenClDevice::run_im2col(const plexus::Tensor&, const plexus::Tensor&,
                              const plexus::Window2d&) {
    not_yet("im2col");
}
void OpenClDevice::run_col2im(const plexus::Tensor&, const plexus::Tensor&,
                              const plexus::Window2d&) {
    not_yet("col2im");
}
void OpenClDevice::run_pool2d(plexus::PoolOp, const plexus::Tensor&, const plexus::Tensor&,
                              const plexus::Tensor&, const plexus::Window2d&) {
    not_yet("pool2d");
}
void OpenClDevice::run_pool2d_backward(plexus::PoolOp, const plexus::Tensor&,
                                       const plexus::Tensor&, const plexus::Tensor&,
                                       const plexus::Window2d&) {
    not_yet("pool2d_backward");
}
void OpenClDevice::run_transpose(const plexus::Tensor&, const plexus::Tensor&, std::size_t,
                                 std::size_t, std::size_t) {
    not_yet("transpose");
}

}  // namespace plexus_opencl
