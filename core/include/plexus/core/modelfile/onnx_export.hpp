// ONNX export of a saved model: its fitted input transforms, its layers and the output step
// predict applies (softmax, sigmoid, the inverted target transform) as one ONNX graph, built
// with the protobuf classes of the ONNX release Debian ships (libonnx-dev).
//
// The exporter lives in its own library, libplexus_onnx.so, beside libplexus_core.so: protobuf
// and onnx_proto cost every process that links them ~20 ms of start-up, so `plexus export`
// opens it when it runs (kExportOnnxSymbol) and no other command pays for it.
#pragma once

#include <filesystem>
#include <string>

#include "plexus/core/modelfile/saved_model.hpp"
#include "plexus/core/registry/registry.hpp"

#pragma GCC visibility push(default)

namespace plexus::core {

/// The opsets the graph may declare: 13 (Softmax over one axis, Squeeze/Unsqueeze axes as
/// inputs) through the newest the linked ONNX release (1.12) knows.
inline constexpr int kOnnxMinOpset = 13;
inline constexpr int kOnnxMaxOpset = 17;

struct OnnxExportRequest {
    const SavedModel* model = nullptr;   // loaded with batch 1
    const Registry* registry = nullptr;  // recreates transforms to probe them one by one
    std::filesystem::path out;           // the .onnx file, written atomically
    int opset = kOnnxMinOpset;
    /// The model was trained on 8-bit data (idx:, dir:, a uint8 .npy), which the pipeline
    /// divides by the card's `divide` before any transform; the model card does not say so.
    bool uint8 = false;
};

/// What export wrote, for the command's one-line summary.
struct OnnxExportResult {
    std::size_t nodes = 0;
    std::size_t initializers = 0;
    std::string input_shape;  // "[batch, 4]"
    std::string output_name;  // "probabilities", "values" or "reconstruction"
};

/// Writes `request.model` as an ONNX graph to `request.out`. The graph's input "input" is one
/// raw sample per row ([batch, input_shape], float; 8-bit pixels as their values 0..255),
/// the batch dimension dynamic; its output is what `plexus predict` writes per sample.
/// Requires kOnnxMinOpset <= opset <= kOnnxMaxOpset. Throws Error naming the layer (index and
/// spec) or transform that has no ONNX form; nothing is written then.
OnnxExportResult export_onnx(const OnnxExportRequest& request);

/// The symbol libplexus_onnx.so exports: `void fn(const OnnxExportRequest&, OnnxExportResult&)`,
/// which calls export_onnx (C linkage, so dlsym finds it by this name).
inline constexpr const char* kExportOnnxSymbol = "plexus_export_onnx";
using ExportOnnxFn = void (*)(const OnnxExportRequest&, OnnxExportResult&);
inline constexpr const char* kOnnxLibrary = "libplexus_onnx.so";

}  // namespace plexus::core

#pragma GCC visibility pop
