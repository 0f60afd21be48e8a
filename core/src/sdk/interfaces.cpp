// Out-of-line virtual destructors and default hooks: they anchor each interface's vtable and
// RTTI in libplexus_core.so, so host and plugins agree on one type identity.
#include "plexus/plexus.hpp"

namespace plexus {

Error::Error(const std::string& message) : std::runtime_error(message) {}
Error::~Error() = default;
PluginError::~PluginError() = default;
ParamError::~ParamError() = default;
ConfigError::~ConfigError() = default;
ShapeError::~ShapeError() = default;
DataError::~DataError() = default;
DeviceError::~DeviceError() = default;

Layer::~Layer() = default;
Collective::~Collective() = default;
std::vector<Parameter*> Layer::parameters() {
    return {};
}
std::vector<NamedTensor> Layer::state() {
    return {};
}
void Layer::set_trainable(bool trainable) {
    for (Parameter* p : parameters()) p->trainable = trainable;
}
void Layer::checkpoint(SavedState&) const {}
void Layer::resume(const SavedState&) {}

Loss::~Loss() = default;
void Loss::set_class_counts(const std::vector<std::size_t>&) {}
TargetKind Loss::target_kind() const { return TargetKind::classes; }

Optimizer::~Optimizer() = default;
std::vector<NamedTensor> Optimizer::state() {
    return {};
}

Metric::~Metric() = default;
bool Metric::accepts(TargetKind kind) const { return kind == TargetKind::classes; }
std::vector<MetricTable> Metric::tables() const {
    return {};
}

Transform::~Transform() = default;
bool Transform::train_only() const {
    return false;
}
bool Transform::needs_fit() const {
    return false;
}
void Transform::fit_begin() {}
void Transform::fit_batch(const float*, std::size_t) {}
std::vector<std::string> Transform::fit_end() {
    return {};
}
std::vector<TransformState> Transform::state() const {
    return {};
}
void Transform::load_state(const std::vector<TransformState>& state) {
    if (!state.empty())
        throw DataError("this transform has no saved state, but the model holds some");
}

Callback::~Callback() = default;
ModelAccess::~ModelAccess() = default;
void Callback::on_train_begin(TrainState&) {}
void Callback::on_epoch_begin(TrainState&) {}
void Callback::on_batch_end(TrainState&) {}
void Callback::on_epoch_end(TrainState&) {}
void Callback::on_train_end(TrainState&) {}
void Callback::checkpoint(SavedState&) const {}
void Callback::resume(const SavedState&) {}

Sampler::~Sampler() = default;
void Sampler::check(const SearchSpace&) const {}
std::uint64_t Sampler::size(const SearchSpace&) const {
    return 0;
}

Pruner::~Pruner() = default;

}  // namespace plexus
