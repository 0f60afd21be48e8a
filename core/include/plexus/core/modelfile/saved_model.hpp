// A trained model back from disk: the layers, loss and transforms an experiment used,
// recreated from model.safetensors' metadata, with the saved weights and fitted transform
// state loaded. What evaluate and predict run.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "plexus/core/data/dataset.hpp"
#include "plexus/core/data/pipeline.hpp"
#include "plexus/core/data/targets.hpp"
#include "plexus/core/modelfile/model_card.hpp"
#include "plexus/core/registry/registry.hpp"
#include "plexus/core/training/model.hpp"
#include "plexus/metric.hpp"

#pragma GCC visibility push(default)

namespace plexus::core {

class BatchLoader;

struct SavedModel {
    SavedModel();
    ~SavedModel();  // where BatchLoader is complete
    SavedModel(const SavedModel&) = delete;
    SavedModel& operator=(const SavedModel&) = delete;

    std::filesystem::path file;  // the .safetensors it came from
    ModelCard card;              // its metadata
    std::shared_ptr<Device> device;
    Sequential model;
    Pipeline pipeline;
    std::string loss;       // the training loss's name: how outputs become probabilities
    std::size_t batch = 0;  // rows per forward pass
    TargetScaler target_scaler;  // float targets: the fitted target_transform

    /// The model predicts float targets (regression) or its input (autoencoder).
    bool float_targets() const { return card.target != "classes"; }

    /// An empty dataset with the model's sample shape and classes, for load_dataset's
    /// `reference` (class ids and image sizes follow the training data).
    Dataset reference() const;

    /// Prepares and runs `ids` of `data` in infer mode; writes per sample the class
    /// probabilities (softmax, or sigmoid for one binary output), or for float targets the
    /// prediction in the target's units (target_transform inverted, a relative window's base
    /// added back): probabilities.size() = ids.size() * output columns.
    void predict(const Dataset& data, const std::vector<std::uint32_t>& ids,
                 std::vector<float>& probabilities);
    /// The same pass, also updating `metrics` (built and reset here) with the outputs and
    /// the labels (or float targets, in their units) as targets; `probabilities` may be null.
    void evaluate(const Dataset& data, const std::vector<std::uint32_t>& ids,
                  const std::vector<std::shared_ptr<Metric>>& metrics,
                  std::vector<float>* probabilities);
    void evaluate_values(const Dataset& data, const std::vector<std::uint32_t>& ids,
                         const std::vector<std::shared_ptr<Metric>>& metrics,
                         std::vector<float>* predictions);
    std::size_t output_columns() const { return model.output_shape().numel() / batch; }

    /// One forward pass of zeros at the full batch, so that what the first batch of
    /// evaluate or predict would otherwise wait for is done: the input and every layer's
    /// output buffer faulted in, the device's GEMM threads started and its kernels for these
    /// shapes generated (oneDNN's primitive for each product shape), and the batch loader's
    /// host buffers made for the targets evaluate will most likely ask for (the model's output
    /// columns). Changes no weight or result; run it on a helper thread (Background) while
    /// the data is read, joined before evaluate.
    void warm_up();

    // The batch's samples and targets on the device, kept between passes (allocated once).
    Tensor x_in, t_in;

private:
    void buffers();
    /// The kept batch loader when it was made for `rows`, else a new one for them (kept).
    BatchLoader& loader_for(const TargetRows& rows);
    /// The targets evaluate's batches carry for float targets (or the input).
    TargetRows value_rows(bool targets) const;

    std::unique_ptr<BatchLoader> loader_;  // its buffers are 2 x batch prepared samples
    TargetRows loader_rows_;
};

/// Loads `path`: a run folder (its model.safetensors) or a .safetensors file written by
/// plexus train. Throws DataError naming the file for a corrupt file or one that does not
/// match its own architecture, PluginError when a component it needs is not installed.
std::unique_ptr<SavedModel> load_model(const std::filesystem::path& path, const Registry& registry,
                                       const std::string& device_spec, std::size_t batch = 1024);

}  // namespace plexus::core

#pragma GCC visibility pop
