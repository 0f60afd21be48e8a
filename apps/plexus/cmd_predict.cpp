#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "commands.hpp"
#include "plexus/core/training/inference.hpp"
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

/// Float targets: per sample its key (a series' timestamp, else the index), then per target
/// the true value (when the data has targets) and the prediction, in the target's units. An
/// autoencoder's rows give the reconstruction error and the reconstruction.
std::string values_csv(core::Ensemble& model, const core::Dataset& data,
                       const std::vector<float>& predictions, double& error_sum) {
    const std::size_t cols = model.output_columns();
    const bool input = model.card().target == "input";
    const bool truth = !input && data.target_width == cols;
    const std::string key = data.key_name.empty() ? "index" : data.key_name;
    std::string csv = csv_cell(key);
    auto name_of = [&](std::size_t c) {
        return c < model.card().target_names.size() ? model.card().target_names[c]
                                                   : "y" + std::to_string(c);
    };
    if (input) csv += ",reconstruction_mse";
    for (std::size_t c = 0; c < cols; ++c) {
        if (truth) csv += "," + csv_cell(name_of(c));
        csv += "," + csv_cell(input ? "x" + std::to_string(c) : name_of(c) + "_predicted");
    }
    csv += "\n";
    std::vector<float> x;
    error_sum = 0.0;
    for (std::size_t i = 0; i < data.count; ++i) {
        const float* p = predictions.data() + i * cols;
        csv += csv_cell(i < data.keys.size() ? data.keys[i] : std::to_string(i));
        if (input) {
            // The reconstruction is compared with the prepared input, as training did.
            x.resize(cols);
            const std::uint32_t id = static_cast<std::uint32_t>(i);
            model.members.front()->pipeline.prepare(data, &id, 1, Mode::infer, 0, x.data());
            double se = 0.0;
            for (std::size_t c = 0; c < cols; ++c) se += double(p[c] - x[c]) * (p[c] - x[c]);
            error_sum += se / double(cols);
            csv += fmt::format(",{:.6g}", se / double(cols));
        }
        for (std::size_t c = 0; c < cols; ++c) {
            if (truth) {
                // A relative window's target is a change: its base makes it a value again.
                const float t = data.targets[i * cols + c] +
                                (data.target_base.empty() ? 0.0f : data.target_base[i * cols + c]);
                error_sum += std::abs(double(p[c]) - t) / double(cols);
                csv += fmt::format(",{:.7g}", static_cast<double>(t));
            }
            csv += fmt::format(",{:.7g}", static_cast<double>(p[c]));
        }
        csv += "\n";
    }
    return csv;
}

}  // namespace

int cmd_predict(const std::vector<std::string>& args) {
    po::options_description desc(
        "usage: plexus predict MODEL --data SPEC --out predictions.csv [options]\n\n"
        "Runs a trained model (a run folder or its model.safetensors) on a data set, with the\n"
        "transforms fitted during training, and writes one CSV row per sample: index, true\n"
        "label, predicted class id and name, and the probability of every class. A regression\n"
        "model writes the sample's key (a series' timestamp), then per target the true value\n"
        "(when the data has it) and the prediction, in the target's units.\n"
        "Data without labels (csv:PATH label=none, npy:PATH without labels=, a dir: folder of\n"
        "images without class subfolders) gives no true-label column and no accuracy.\n"
        "MODEL may be an ensemble (plexus ensemble --out DIR): DIR or DIR/ensemble.json.\n\noptions");
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
    // The model's first pass runs while the data is read (SavedModel::warm_up).
    core::Background warm([&model] { model->warm_up(); });
    std::vector<std::uint32_t> ids;
    const core::Dataset data = load_data_for(*model, vm, ids, true);
    warm.join();
    std::vector<float> probabilities;
    model->predict(data, ids, probabilities);

    const std::size_t cols = model->output_columns();
    const std::string out = vm["out"].as<std::string>();
    if (model->float_targets()) {
        double error_sum = 0.0;
        support::write_file_atomic(out, values_csv(*model, data, probabilities, error_sum));
        const double n = data.count ? double(data.count) : 1.0;
        if (model->card().target == "input")
            fmt::print("{} reconstructions written to {}; mean squared error {:.6g}\n",
                       data.count, out, error_sum / n);
        else if (data.target_width == cols)
            fmt::print("{} predictions written to {}; mean absolute error {:.6g}\n", data.count,
                       out, error_sum / n);
        else
            fmt::print("{} predictions written to {}\n", data.count, out);
        return 0;
    }
    const bool binary = cols == 1 && model->card().classes == 2;
    auto name_of = [&](std::size_t k) {
        return k < model->card().class_names.size() ? model->card().class_names[k] : std::to_string(k);
    };
    // New data without labels: no label column, nothing to be accurate against.
    const bool labels = !data.unlabeled;
    std::string csv = labels ? "index,label,predicted,class" : "index,predicted,class";
    for (std::size_t c = 0; c < cols; ++c) csv += ",p_" + csv_cell(name_of(binary ? 1 : c));
    csv += "\n";
    std::size_t correct = 0;
    for (std::size_t i = 0; i < data.count; ++i) {
        const float* p = probabilities.data() + i * cols;
        const std::size_t predicted =
            binary ? (p[0] > 0.5f ? 1 : 0) : std::size_t(std::max_element(p, p + cols) - p);
        csv += std::to_string(i) + ",";
        if (labels) {
            correct += predicted == data.labels[i];
            csv += std::to_string(data.labels[i]) + ",";
        }
        csv += std::to_string(predicted) + "," + csv_cell(name_of(predicted));
        for (std::size_t c = 0; c < cols; ++c)
            csv += fmt::format(",{:.6g}", static_cast<double>(p[c]));
        csv += "\n";
    }
    support::write_file_atomic(out, csv);
    if (!labels) {
        fmt::print("{} predictions written to {}\n", data.count, out);
        return 0;
    }
    fmt::print("{} predictions written to {}; accuracy against the labels {:.4f}\n", data.count,
               out, data.count ? double(correct) / double(data.count) : 0.0);
    return 0;
}

}  // namespace plexus::app
