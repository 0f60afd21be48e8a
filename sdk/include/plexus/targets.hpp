// What a loss or metric compares predictions with: class ids or float values.
#pragma once

#include <cstdint>

namespace plexus {

/// The targets of a dataset as the loss and metrics see them.
/// - classes: one-hot rows (a single 0/1 column for a one-output binary model), made from the
///   dataset's class ids;
/// - values: float rows of the model's output width (regression, forecasting, autoencoders),
///   scaled by the experiment's target_transform when it has one.
enum class TargetKind : std::uint8_t { classes, values };

inline const char* target_kind_name(TargetKind kind) {
    return kind == TargetKind::classes ? "class ids" : "float targets";
}

}  // namespace plexus
