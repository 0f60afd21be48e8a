// Shared by the classification metrics (metrics-classification, metrics-top_k_accuracy):
// per-row class indices turned into one-hot rows with device primitives only, and the batch
// checks every streaming metric makes. Header-only: each plugin library compiles its own
// copy, so nothing here crosses a plugin boundary.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "plexus/device.hpp"
#include "plexus/error.hpp"
#include "plexus/tensor.hpp"

namespace plexus::metrics {

/// Constant rows for `cols` classes: ones and the ids 0..cols-1. Device::binary broadcasts a
/// row over every row, never a per-row value across the columns, so a per-row value is first
/// spread into a [rows, cols] matrix by an outer product with the row of ones (a K = 1 gemm).
class ClassRows {
public:
    /// Allocates and fills the rows (once, in the metric's build()).
    void build(Device& device, std::size_t cols) {
        ones_ = device.alloc({1, cols});
        device.fill(ones_, 1.0f);
        ids_ = device.alloc({1, cols});
        std::vector<float> ids(cols);
        for (std::size_t c = 0; c < cols; ++c) ids[c] = static_cast<float>(c);
        device.upload(ids_, ids);
    }

    /// out[r, c] = column[r] for every c. Requires column.numel() == out.rows(),
    /// out.cols() == the built cols, and out not overlapping column.
    void spread(Device& device, const Tensor& column, const Tensor& out) const {
        device.gemm(Transpose::no, Transpose::no, 1.0f, column.reshaped({out.rows(), 1}), ones_,
                    0.0f, out);
    }

    /// out[r, c] = 1 where classes[r] == c, else 0: the one-hot rows of class indices held as
    /// floats (as ReduceOp::argmax writes them). Same requirements as spread().
    void one_hot(Device& device, const Tensor& classes, const Tensor& out) const {
        spread(device, classes, out);
        device.binary(BinaryOp::equal, out, ids_, out);
    }

private:
    Tensor ones_;  // [1, cols]
    Tensor ids_;   // [1, cols]: 0, 1, ..., cols-1
};

/// Checks one update() against what build() allocated for; returns the batch's row count.
/// Throws ShapeError, naming the metric, before build() (`built` false), for a batch wider or
/// longer than built for, or for a target of another size.
inline std::size_t check_batch(const char* metric, bool built, const Tensor& pred,
                               const Tensor& target, std::size_t max_rows, std::size_t cols) {
    const std::string name(metric);
    if (!built) throw ShapeError(name + ": update() before build()");
    if (pred.cols() != cols || pred.rows() > max_rows || target.numel() != pred.numel())
        throw ShapeError(name + ": built for up to " + std::to_string(max_rows) + " rows of " +
                         std::to_string(cols) + " scores, got pred " + pred.shape().str() +
                         " and target " + target.shape().str());
    return pred.rows();
}

/// Throws ShapeError unless `pred` is [batch, classes...] with at least `min_cols` columns.
inline void require_scores(const char* metric, const Shape& pred, std::size_t min_cols,
                           const char* expected) {
    if (pred.rank() < 2 || pred.cols() < min_cols)
        throw ShapeError(std::string(metric) + ": expected " + expected + ", got " + pred.str());
}

}  // namespace plexus::metrics
