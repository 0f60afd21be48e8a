// Tensor: a handle to float32 storage owned by one Device. Copying a Tensor copies the
// handle, never the data; views (rows, reshaped) share the storage.
#pragma once

#include <cstddef>
#include <memory>

#include "plexus/export.hpp"
#include "plexus/shape.hpp"

namespace plexus {

class Device;

class PLEXUS_API Tensor {
public:
    Tensor() = default;

    /// True for a default-constructed tensor that owns nothing.
    bool empty() const { return !storage_; }
    Device* device() const { return device_; }
    const Shape& shape() const { return shape_; }
    std::size_t numel() const { return shape_.numel(); }
    std::size_t rows() const { return shape_.rows(); }
    std::size_t cols() const { return shape_.cols(); }

    /// Device-specific buffer handle (a float* on the CPU device, a cl_mem on OpenCL).
    void* handle() const { return storage_.get(); }
    /// Offset of this view's first element in the buffer, in floats.
    std::size_t offset() const { return offset_; }

    /// View of `count` rows starting at row `begin`.
    /// Requires begin + count <= rows(). Ensures the view aliases this tensor's storage.
    Tensor rows(std::size_t begin, std::size_t count) const;
    /// View with another shape of the same number of elements.
    Tensor reshaped(const Shape& shape) const;

private:
    friend class Device;
    Tensor(Device* device, std::shared_ptr<void> storage, std::size_t offset, const Shape& shape)
        : device_(device), storage_(std::move(storage)), offset_(offset), shape_(shape) {}

    Device* device_ = nullptr;
    std::shared_ptr<void> storage_;
    std::size_t offset_ = 0;
    Shape shape_;
};

}  // namespace plexus
