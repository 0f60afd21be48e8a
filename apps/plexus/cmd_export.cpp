// plexus export MODEL --onnx FILE.onnx: the model and its fitted input transforms as one ONNX
// graph. The exporter (libplexus_onnx.so, beside libplexus_core.so) is opened here, so only
// this command loads protobuf.
#include <dlfcn.h>
#include <fmt/format.h>

#include <filesystem>

#include "commands.hpp"
#include "plexus/core/modelfile/onnx_export.hpp"
#include "plexus/error.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace plexus::app {
namespace {

core::ExportOnnxFn open_exporter() {
    Dl_info info{};
    const void* anchor = reinterpret_cast<const void*>(&core::load_model);
    if (dladdr(anchor, &info) == 0 || info.dli_fname == nullptr)
        throw Error("cannot locate libplexus_core.so, beside which " +
                    std::string(core::kOnnxLibrary) + " lies (reinstall plexus)");
    const fs::path lib = fs::path(info.dli_fname).parent_path() / core::kOnnxLibrary;
    void* handle = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);  // never closed
    if (!handle) {
        const char* why = dlerror();
        throw Error("cannot load the ONNX exporter " + lib.string() + ": " +
                    (why ? why : "unknown error") +
                    " (install libonnx-dev's runtime: apt install libonnx1 libprotobuf32)");
    }
    auto fn = reinterpret_cast<core::ExportOnnxFn>(dlsym(handle, core::kExportOnnxSymbol));
    if (!fn)
        throw Error(lib.string() + " lacks " + core::kExportOnnxSymbol + " (reinstall plexus)");
    return fn;
}

}  // namespace

int cmd_export(const std::vector<std::string>& args) {
    po::options_description desc(
        "usage: plexus export MODEL --onnx FILE.onnx [--opset N] [--input float|uint8] [options]\n\n"
        "Writes a trained model (a run folder or its model.safetensors) as one ONNX graph: the\n"
        "fitted input transforms (scale, standardize; with --input uint8 the /255 of 8-bit\n"
        "pixels), every layer and what predict does to the outputs (softmax or sigmoid\n"
        "probabilities, a regression target's units). Input 'input' [batch, sample...] of raw\n"
        "float samples, the batch dynamic. A layer or transform without an ONNX form is named.\n\n"
        "options");
    desc.add_options()("help,h", "show this help")("onnx", po::value<std::string>(),
                                                   "the .onnx file to write (atomically)")(
        "opset", po::value<int>()->default_value(core::kOnnxMinOpset),
        fmt::format("ONNX opset to declare, {}..{}", core::kOnnxMinOpset, core::kOnnxMaxOpset)
            .c_str())(
        "input", po::value<std::string>()->default_value("float"),
        "what the model was trained on: float (csv:, float .npy, series:) or uint8 (idx:, dir:, "
        "uint8 .npy: the graph divides its input by the model's divide, 255 by default)");
    add_plugin_options(desc);
    po::variables_map vm;
    if (!parse_command(args, desc, "model", vm)) return 0;
    if (!vm.count("model"))
        throw po::error("missing the model (plexus export RUN_DIR --onnx FILE.onnx)");
    if (!vm.count("onnx")) throw po::error("missing --onnx (the .onnx file to write)");
    const int opset = vm["opset"].as<int>();
    if (opset < core::kOnnxMinOpset || opset > core::kOnnxMaxOpset)
        throw po::error(
            fmt::format("--opset must be in {}..{}", core::kOnnxMinOpset, core::kOnnxMaxOpset));

    const std::string input = vm["input"].as<std::string>();
    if (input != "float" && input != "uint8") throw po::error("--input must be float or uint8");

    core::Registry registry(registry_options(vm));
    const auto model = core::load_model(vm["model"].as<std::string>(), registry, "cpu", 1);
    const core::ExportOnnxFn export_onnx = open_exporter();
    core::OnnxExportRequest request{model.get(), &registry, vm["onnx"].as<std::string>(), opset,
                                    input == "uint8"};
    core::OnnxExportResult result;
    export_onnx(request, result);
    fmt::print("{} written: opset {}, {} nodes, {} initializers; input 'input' {}, output '{}'\n",
               request.out.string(), opset, result.nodes, result.initializers, result.input_shape,
               result.output_name);
    return 0;
}

}  // namespace plexus::app
