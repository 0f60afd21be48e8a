// Float targets as the model sees them: the experiment's target_transform (fitted on the
// training split, saved with the model) and the rows a batch's targets come from.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plexus/core/data/dataset.hpp"
#include "plexus/core/data/host_tensor.hpp"

#pragma GCC visibility push(default)

namespace plexus::core {

/// Per target column, scaled = (y - offset) / scale; the model learns scaled values and
/// every metric, report and prediction is inverted back to the target's units.
/// - none: offset 0, scale 1;
/// - standardize: offset the training mean, scale the (population) standard deviation;
/// - scale: offset the training minimum, scale max - min (targets in [0, 1] on train).
/// A constant column gets scale 1, as scikit-learn's scalers do.
class TargetScaler {
public:
    enum class Kind { none, standardize, scale };

    TargetScaler() = default;
    /// "none", "standardize" or "scale"; throws ConfigError prefixed with `where` otherwise.
    static TargetScaler parse(const std::string& text, const std::string& where);

    /// Fits on the targets of rows `ids` of `data` (the training split). Requires
    /// data.has_targets(). Resets offset and scale to width columns.
    void fit(const Dataset& data, const std::vector<std::uint32_t>& ids);
    /// An unfitted scaler of `width` identity columns (kind none).
    void identity(std::size_t width);

    Kind kind() const { return kind_; }
    const char* name() const;
    std::size_t width() const { return offset_.size(); }
    /// True when scaling changes nothing (kind none).
    bool is_identity() const { return kind_ == Kind::none; }
    const std::vector<float>& offset() const { return offset_; }
    const std::vector<float>& scale() const { return scale_; }

    /// out = (in - offset) / scale for `rows` rows of width() values; in may equal out.
    void apply(const float* in, float* out, std::size_t rows) const;
    /// values = values * scale + offset, in place, for `rows` rows of width() values.
    void invert(float* values, std::size_t rows) const;

    /// Its fitted state, "target.offset" and "target.scale" ([width] each), saved with the
    /// model; the kind travels in the model card.
    std::vector<HostTensor> state() const;
    /// Puts back state() for a scaler of `kind_name` (ModelCard::target_transform). Throws
    /// DataError prefixed with `file` when a tensor is missing, has another width or holds a
    /// non-finite value or a zero scale.
    void load_state(const std::string& kind_name, const std::vector<HostTensor>& tensors,
                    std::size_t width, const std::string& file);

private:
    Kind kind_ = Kind::none;
    std::vector<float> offset_, scale_;
};

/// Where a batch's target rows come from.
enum class TargetSource {
    labels,  // class ids: one-hot rows, or 0/1 in one column
    values,  // the dataset's float targets, scaled by a TargetScaler
    input,   // the prepared input itself (autoencoders)
};

struct TargetRows {
    TargetSource source = TargetSource::labels;
    std::size_t cols = 0;                  // values per target row; 0: no targets
    const TargetScaler* scaler = nullptr;  // values: applied when given
};

}  // namespace plexus::core

#pragma GCC visibility pop
