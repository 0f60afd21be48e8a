// The data pipeline: gathers samples from a dataset (uint8 → float per batch), then runs the
// experiment's transforms in order. Scalers are fitted on the training split only; the fitted
// state is saved with the model so evaluate and predict prepare data exactly as training did.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "plexus/core/data/dataset.hpp"
#include "plexus/core/data/host_tensor.hpp"
#include "plexus/core/data/huge_pages.hpp"
#include "plexus/transform.hpp"

#pragma GCC visibility push(default)

namespace plexus::core {

class Pipeline {
public:
    /// Appends a transform; `spec` is its line as written ("scale range=-1,1"), saved with
    /// the model so predict can recreate it.
    void add(std::shared_ptr<Transform> transform, std::string spec);

    /// Builds every transform for raw samples of `sample` shape and batches of up to
    /// `max_rows` rows. uint8 values are divided by `divide` when gathered. Throws ShapeError
    /// "transform I (SPEC): ..." when a transform does not accept its input. Returns the
    /// shape of one prepared sample.
    Shape build(const Shape& sample, std::size_t max_rows, float divide, std::uint64_t seed);

    /// Fits the transforms that learn from data, in order, on the rows `ids` of `data` (the
    /// training split; each transform sees the output of the ones before it in infer mode).
    /// Returns their warnings, prefixed with the transform.
    std::vector<std::string> fit(const Dataset& data, const std::vector<std::uint32_t>& ids);

    /// Writes `count` prepared samples (rows `ids` of `data`) to `out`, output_features()
    /// floats each. Train mode applies augmentation (seeded by the run seed, `epoch` and the
    /// sample ids); infer mode skips it. Allocates nothing; not safe to call from two threads
    /// at once.
    void prepare(const Dataset& data, const std::uint32_t* ids, std::size_t count, Mode mode,
                 std::uint64_t epoch, float* out);

    std::size_t output_features() const { return output_.numel(); }
    const Shape& output_shape() const { return output_; }
    const Shape& input_shape() const { return input_; }
    float divide() const { return divide_; }
    std::size_t size() const { return stages_.size(); }
    const std::vector<std::string>& specs() const { return specs_; }
    /// True when some transform augments training data (train and infer differ).
    bool augments() const;

    /// Every transform's fitted state, named "transformI.NAME".
    std::vector<HostTensor> state() const;
    /// Puts back the state saved by state(); throws DataError naming a missing or extra
    /// tensor.
    void load_state(const std::vector<HostTensor>& tensors);

private:
    struct Stage {
        std::shared_ptr<Transform> transform;
        Shape input, output;
    };
    void gather(const Dataset& data, const std::uint32_t* ids, std::size_t count, float* out) const;
    /// Applies stages [0, end) to `count` gathered rows in buf_[0]; returns the buffer
    /// holding the result (or writes into `out` when given, for the last stage).
    const float* run(std::size_t end, std::size_t count, Mode mode, std::uint64_t epoch,
                     const std::uint32_t* ids, float* out);

    std::vector<Stage> stages_;
    std::vector<std::string> specs_;
    Shape input_, output_;
    float divide_ = 1.0f;
    std::uint64_t seed_ = 0;
    std::size_t max_rows_ = 0;
    HugeFloats buf_[2];
};

}  // namespace plexus::core

#pragma GCC visibility pop
