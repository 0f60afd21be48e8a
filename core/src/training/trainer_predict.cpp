// The trainer's predictions in target units, for the regression report at the end of a run.
#include <span>

#include "plexus/core/training/inference.hpp"
#include "plexus/core/training/trainer.hpp"
#include "plexus/error.hpp"

namespace plexus::core {

void Trainer::predict_values(const Subset& data, std::vector<float>& truth,
                             std::vector<float>& predicted) {
    if (targets_.source == TargetSource::labels)
        throw Error("Trainer::predict_values: the model predicts classes");
    const std::size_t k = target_cols_;
    truth.assign(data.size() * k, 0.0f);
    predicted.assign(data.size() * k, 0.0f);
    infer(device_, model_, *loader_, data, x_, &t_, [&](const InferBatch& b) {
        const auto [yu, tu] = units_.to_units(b.y, b.t, b.base);
        device_.download(yu, std::span<float>(predicted.data() + b.begin * k, b.rows * k));
        device_.download(tu, std::span<float>(truth.data() + b.begin * k, b.rows * k));
    });
}

}  // namespace plexus::core
