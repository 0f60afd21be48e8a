// For metrics over class scores (top_k_accuracy, the classification metrics): per-row class
// indices turned into one-hot rows with device primitives only, and the shape checks every
// streaming metric makes on a batch.
#pragma once

#include <cstddef>

#include "plexus/device.hpp"
#include "plexus/export.hpp"
#include "plexus/shape.hpp"
#include "plexus/tensor.hpp"

namespace plexus::support {

/// Constant rows for `cols` classes: ones and the ids 0..cols-1. Device::binary broadcasts a
/// row over every row, never a per-row value across the columns, so a per-row value is first
/// spread into a [rows, cols] matrix by an outer product with the row of ones (a K = 1 gemm).
class PLEXUS_API ClassRows {
public:
    /// Allocates and fills the rows on `device` (once, in the metric's build()).
    void build(Device& device, std::size_t cols);

    /// out[r, c] = column[r] for every c. Requires build(), column.numel() == out.rows(),
    /// out.cols() == the built cols, and out not overlapping column.
    void spread(Device& device, const Tensor& column, const Tensor& out) const;

    /// out[r, c] = 1 where classes[r] == c, else 0: the one-hot rows of class indices held as
    /// floats (as ReduceOp::argmax writes them). Same requirements as spread().
    void one_hot(Device& device, const Tensor& classes, const Tensor& out) const;

private:
    Tensor ones_;  // [1, cols]
    Tensor ids_;   // [1, cols]: 0, 1, ..., cols-1
};

/// Checks one update() against what build() allocated for and returns the batch's row count.
/// Throws ShapeError naming `metric` before build() (`built` false), for a batch longer than
/// `max_rows` or not `cols` wide, or for a target of another size than `pred`.
PLEXUS_API std::size_t check_batch(const char* metric, bool built, const Tensor& pred,
                                   const Tensor& target, std::size_t max_rows, std::size_t cols);

/// Throws ShapeError naming `metric` and what it `expected` unless `pred` is
/// [batch, classes...] with at least `min_cols` columns.
PLEXUS_API void require_scores(const char* metric, const Shape& pred, std::size_t min_cols,
                               const char* expected);

}  // namespace plexus::support
