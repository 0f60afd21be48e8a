// Unfreeze (the fine-tuning schedule of Lightning's BackboneFinetuning; Howard & Ruder, 2018,
// "Universal Language Model Fine-tuning", gradual unfreezing): layers frozen for transfer
// learning ([model] freeze) train again from epoch N on, and the learning rate is scaled
// once, so the pretrained weights are adjusted gently rather than overwritten by the large
// steps the new layers needed.
#include <limits>
#include <string>

#include "plexus/plexus.hpp"
#include "plexus/support/index_ranges.hpp"

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

const plexus::ParamSpec kParams[] = {
    {"epoch", plexus::ParamType::integer, "10", 1, kInf, nullptr,
     "the epoch (counted from 1, as in history.csv) at whose start the layers unfreeze"},
    {"layers", plexus::ParamType::string, nullptr, 0, 0, nullptr,
     "the layers to make trainable, as indices and ranges: 0-3,5"},
    {"lr_factor", plexus::ParamType::real, "0.1", 0, kInf, nullptr,
     "the learning rate in force is multiplied by this once, when the layers unfreeze",
     plexus::kMinExclusive},
};

class Unfreeze final : public plexus::Callback {
public:
    explicit Unfreeze(const plexus::Params& p)
        : epoch_(static_cast<std::size_t>(p.get_int("epoch"))),
          layers_(plexus::support::parse_index_ranges(p.get_string("layers"), "unfreeze layers")),
          lr_factor_(static_cast<float>(p.get_real("lr_factor"))) {}

    void on_train_begin(plexus::TrainState& state) override {
        if (!state.model)
            throw plexus::Error(
                "unfreeze: the trainer gave no model access (layers cannot change)");
        model_ = state.model;
        plexus::support::check_index_ranges(layers_, model_->layer_count(), "unfreeze layers");
        done_ = false;
    }

    void on_epoch_begin(plexus::TrainState& state) override {
        if (done_ || state.epoch + 1 != epoch_) return;
        unfreeze();
        state.learning_rate *= lr_factor_;
    }

    void checkpoint(plexus::SavedState& out) const override { out.set_count("done", done_); }

    // The rate needs no scaling here: the trainer's checkpoint holds the scaled one.
    void resume(const plexus::SavedState& in) override {
        if (in.count("done") != 0) unfreeze();
    }

private:
    void unfreeze() {
        for (std::size_t i = 0; i < model_->layer_count(); ++i)
            if (layers_.contains(i)) model_->set_trainable(i, true);
        done_ = true;
    }

    std::size_t epoch_;
    plexus::support::IndexRanges layers_;
    float lr_factor_;
    plexus::ModelAccess* model_ = nullptr;
    bool done_ = false;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Unfreeze>(
    "unfreeze", "0.1.0",
    "Make frozen layers trainable at the start of epoch N and scale the learning rate "
    "(fine-tuning after transfer)",
    kParams))
