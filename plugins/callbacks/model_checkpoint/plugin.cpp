// Model checkpoints (Keras' ModelCheckpoint): writes the weights as .safetensors at the end of
// an epoch — by default only when the monitored value improves, so the file always holds the
// best model so far, and a crash or Ctrl-C late in a long run loses nothing. Files are written
// atomically by the trainer (temporary file + rename): a reader never sees half a checkpoint.
#include <string>

#include "plexus/plexus.hpp"
#include "plexus/support/files.hpp"
#include "plexus/support/monitor.hpp"
#include "plexus/support/run_path.hpp"

namespace {

const plexus::ParamSpec kParams[] = {
    {"path", plexus::ParamType::string, "{run_dir}/checkpoint.safetensors", 0, 0, nullptr,
     "file to write; {run_dir} is the run folder, {epoch} the 1-based epoch number"},
    plexus::support::monitor_param(),
    plexus::support::mode_param(),
    {"save_best_only", plexus::ParamType::boolean, "true", 0, 0, nullptr,
     "save only when the monitored value improves (false: after every epoch)"},
};

class ModelCheckpoint final : public plexus::Callback {
public:
    explicit ModelCheckpoint(const plexus::Params& p)
        : path_(p.get_string("path")),
          monitor_("model_checkpoint", p),
          save_best_only_(p.get_bool("save_best_only")) {
        if (path_.empty()) throw plexus::ParamError("model_checkpoint: path must not be empty");
    }

    void on_train_begin(plexus::TrainState& s) override {
        if (!s.model)
            throw plexus::Error(
                "model_checkpoint: this trainer gives no access to the model's weights "
                "(TrainState.model is null), so there is nothing to save");
        const std::size_t first = 0;
        plexus::support::expand_run_path("model_checkpoint", path_, s, &first);  // fail early
        best_ = monitor_.worst();
    }

    void on_epoch_end(plexus::TrainState& s) override {
        if (save_best_only_) {
            const double current = monitor_.read(s.logs);
            if (!monitor_.improves(current, best_)) return;
            best_ = current;
        }
        const std::string path =
            plexus::support::expand_run_path("model_checkpoint", path_, s, &s.epoch);
        plexus::support::create_parent_folder("model_checkpoint", path);
        s.model->save(path);
    }

    void checkpoint(plexus::SavedState& out) const override { out.set_real("best", best_); }
    void resume(const plexus::SavedState& in) override { best_ = in.real("best"); }

private:
    std::string path_;
    plexus::support::Monitor monitor_;
    bool save_best_only_;
    double best_ = 0.0;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<ModelCheckpoint>(
    "model_checkpoint", "0.1.0",
    "Save the weights (.safetensors) when the monitored value improves, or every epoch", kParams))
