// Loss: the scalar objective and its gradient.
#pragma once

#include <vector>

#include "plexus/device.hpp"
#include "plexus/export.hpp"
#include "plexus/plugin_kind.hpp"
#include "plexus/targets.hpp"

namespace plexus {

class PLEXUS_API Loss {
public:
    using Interface = Loss;
    static constexpr Kind kKind = Kind::loss;

    virtual ~Loss();

    /// Allocates workspaces for predictions of `pred` shape (first dimension: the largest
    /// batch). Throws ShapeError when the loss cannot work on that shape.
    virtual void build(const Shape& pred, Device& device) = 0;

    /// Mean loss over the batch. `target` has pred's shape (one-hot rows for
    /// classification). Only this scalar comes back to the host.
    virtual float forward(const Tensor& pred, const Tensor& target) = 0;

    /// dpred = dL/dpred of the mean loss (already divided by the batch size).
    virtual void backward(const Tensor& pred, const Tensor& target, const Tensor& dpred) = 0;

    /// Samples per class in the training split, given before build() by the trainer so a
    /// loss can weight classes (class_weight=balanced). The default ignores them.
    virtual void set_class_counts(const std::vector<std::size_t>& counts);

    /// The targets this loss compares predictions with; the host refuses a dataset of the
    /// other kind before training, naming both. Default: classes (cross-entropies); mse, mae
    /// and huber want values.
    virtual TargetKind target_kind() const;
};

}  // namespace plexus
