#include "plexus/support/class_rows.hpp"

#include <string>
#include <vector>

#include "plexus/error.hpp"

namespace plexus::support {

void ClassRows::build(Device& device, std::size_t cols) {
    ones_ = device.alloc({1, cols});
    device.fill(ones_, 1.0f);
    ids_ = device.alloc({1, cols});
    std::vector<float> ids(cols);
    for (std::size_t c = 0; c < cols; ++c) ids[c] = static_cast<float>(c);
    device.upload(ids_, ids);
}

void ClassRows::spread(Device& device, const Tensor& column, const Tensor& out) const {
    device.gemm(Transpose::no, Transpose::no, 1.0f, column.reshaped({out.rows(), 1}), ones_, 0.0f,
                out);
}

void ClassRows::one_hot(Device& device, const Tensor& classes, const Tensor& out) const {
    spread(device, classes, out);
    device.binary(BinaryOp::equal, out, ids_, out);
}

std::size_t check_batch(const char* metric, bool built, const Tensor& pred, const Tensor& target,
                        std::size_t max_rows, std::size_t cols) {
    const std::string name(metric);
    if (!built) throw ShapeError(name + ": update() before build()");
    if (pred.cols() != cols || pred.rows() > max_rows || target.numel() != pred.numel())
        throw ShapeError(name + ": built for up to " + std::to_string(max_rows) + " rows of " +
                         std::to_string(cols) + " scores, got pred " + pred.shape().str() +
                         " and target " + target.shape().str());
    return pred.rows();
}

void require_scores(const char* metric, const Shape& pred, std::size_t min_cols,
                    const char* expected) {
    if (pred.rank() < 2 || pred.cols() < min_cols)
        throw ShapeError(std::string(metric) + ": expected " + expected + ", got " + pred.str());
}

}  // namespace plexus::support
