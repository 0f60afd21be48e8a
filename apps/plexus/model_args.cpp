// Options and loading shared by the commands that run a saved model (evaluate, predict).
#include "commands.hpp"
#include "plexus/core/data/readers/sources.hpp"

namespace po = boost::program_options;

namespace plexus::app {

void add_model_options(po::options_description& desc) {
    desc.add_options()("device", po::value<std::string>()->default_value("cpu"),
                       "device plugin to run on")(
        "batch-size", po::value<std::size_t>()->default_value(1024), "samples per forward pass");
}

std::size_t batch_size_arg(const po::variables_map& vm) {
    if (!vm.count("data"))
        throw po::error("missing --data (e.g. --data idx:/usr/share/datasets/fashion-mnist/t10k)");
    const std::size_t batch = vm["batch-size"].as<std::size_t>();
    if (batch == 0 || batch > (1u << 20)) throw po::error("--batch-size must be in [1, 1048576]");
    return batch;
}

std::unique_ptr<core::Ensemble> load_model_arg(const po::variables_map& vm,
                                               const core::Registry& registry) {
    const std::size_t batch = batch_size_arg(vm);
    return core::load_any_model(vm["model"].as<std::string>(), registry,
                                vm["device"].as<std::string>(), batch);
}

core::Dataset load_data_for(const core::Ensemble& model, const po::variables_map& vm,
                            std::vector<std::uint32_t>& ids, bool allow_unlabeled) {
    const core::Dataset reference = model.reference();
    core::Dataset data = core::load_dataset(vm["data"].as<std::string>(), {}, "--data", &reference,
                                            allow_unlabeled);
    if (data.features() != reference.features())
        throw DataError(data.source + ": samples are " + data.sample_shape.str() +
                        ", the model was trained on " + reference.sample_shape.str());
    ids.resize(data.count);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::uint32_t>(i);
    return data;
}

}  // namespace plexus::app
