#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "commands.hpp"
#include "plexus/support/files.hpp"

namespace po = boost::program_options;

namespace plexus::app {
namespace {

/// A CSV cell: quoted when it holds a delimiter, quote or line break (RFC 4180).
std::string csv_cell(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

}  // namespace

int cmd_predict(const std::vector<std::string>& args) {
    po::options_description desc(
        "usage: plexus predict MODEL --data SPEC --out predictions.csv [options]\n\n"
        "Runs a trained model (a run folder or its model.safetensors) on a data set, with the\n"
        "transforms fitted during training, and writes one CSV row per sample: index, true\n"
        "label, predicted class id and name, and the probability of every class.\n\noptions");
    desc.add_options()("help,h", "show this help")(
        "data", po::value<std::string>(),
        "data to predict, e.g. idx:/usr/share/datasets/fashion-mnist/t10k")(
        "out", po::value<std::string>(), "CSV file to write (atomically)");
    add_model_options(desc);
    add_plugin_options(desc);
    po::variables_map vm;
    if (!parse_command(args, desc, "model", vm)) return 0;
    if (!vm.count("model"))
        throw po::error("missing the model (plexus predict RUN_DIR --data SPEC --out FILE)");
    if (!vm.count("out")) throw po::error("missing --out (the CSV file to write)");

    core::Registry registry(registry_options(vm));
    auto model = load_model_arg(vm, registry);
    std::vector<std::uint32_t> ids;
    const core::Dataset data = load_data_for(*model, vm, ids);
    std::vector<float> probabilities;
    model->predict(data, ids, probabilities);

    const std::size_t cols = model->output_columns();
    const bool binary = cols == 1 && model->card.classes == 2;
    auto name_of = [&](std::size_t k) {
        return k < model->card.class_names.size() ? model->card.class_names[k] : std::to_string(k);
    };
    std::string csv = "index,label,predicted,class";
    for (std::size_t c = 0; c < cols; ++c) csv += ",p_" + csv_cell(name_of(binary ? 1 : c));
    csv += "\n";
    std::size_t correct = 0;
    for (std::size_t i = 0; i < data.count; ++i) {
        const float* p = probabilities.data() + i * cols;
        const std::size_t predicted =
            binary ? (p[0] > 0.5f ? 1 : 0) : std::size_t(std::max_element(p, p + cols) - p);
        correct += predicted == data.labels[i];
        csv += std::to_string(i) + "," + std::to_string(data.labels[i]) + "," +
               std::to_string(predicted) + "," + csv_cell(name_of(predicted));
        for (std::size_t c = 0; c < cols; ++c)
            csv += fmt::format(",{:.6g}", static_cast<double>(p[c]));
        csv += "\n";
    }
    const std::string out = vm["out"].as<std::string>();
    support::write_file_atomic(out, csv);
    fmt::print("{} predictions written to {}; accuracy against the labels {:.4f}\n", data.count,
               out, data.count ? double(correct) / double(data.count) : 0.0);
    return 0;
}

}  // namespace plexus::app
