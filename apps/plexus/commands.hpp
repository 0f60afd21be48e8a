#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "plexus/core/modelfile/ensemble.hpp"
#include "plexus/core/registry/registry.hpp"

namespace plexus::app {

int cmd_plugins(const std::vector<std::string>& args);
int cmd_devices(const std::vector<std::string>& args);
int cmd_train(const std::vector<std::string>& args);
int cmd_lr_find(const std::vector<std::string>& args);
int cmd_predict(const std::vector<std::string>& args);
int cmd_evaluate(const std::vector<std::string>& args);
int cmd_diagnose(const std::vector<std::string>& args);
int cmd_report(const std::vector<std::string>& args);
int cmd_tune(const std::vector<std::string>& args);
int cmd_study(const std::vector<std::string>& args);
int cmd_ensemble(const std::vector<std::string>& args);
int cmd_export(const std::vector<std::string>& args);

/// The study file next to a study folder that names it (a study's folder is `<name>/` beside
/// its file). Throws ConfigError when no .ini beside it names the folder.
std::filesystem::path study_file_of(const std::filesystem::path& dir);

/// --plugin-path and --allow-insecure-plugins, shared by every command that loads plugins.
void add_plugin_options(boost::program_options::options_description& desc);
/// Parses a command's options plus one positional argument named `positional`, and the
/// `hidden` options when given (accepted, never shown in --help). Returns false after printing
/// the help when --help was given.
bool parse_command(const std::vector<std::string>& args,
                   const boost::program_options::options_description& desc, const char* positional,
                   boost::program_options::variables_map& vm,
                   const boost::program_options::options_description* hidden = nullptr);
core::RegistryOptions registry_options(const boost::program_options::variables_map& vm);

/// --device and --batch-size, for the commands that run a saved model.
void add_model_options(boost::program_options::options_description& desc);
/// The model named by the positional argument (a saved model, or an ensemble's folder or
/// ensemble.json), on --device with --batch-size rows per pass (also requires --data).
std::unique_ptr<core::Ensemble> load_model_arg(const boost::program_options::variables_map& vm,
                                               const core::Registry& registry);
/// Checks --batch-size (and that --data is given); returns it.
std::size_t batch_size_arg(const boost::program_options::variables_map& vm);
/// --data, read the way the model was trained (class ids, sample shape); `ids` gets every row.
/// With `allow_unlabeled` (predict), data without labels is read as `unlabeled`.
core::Dataset load_data_for(const core::Ensemble& model,
                            const boost::program_options::variables_map& vm,
                            std::vector<std::uint32_t>& ids, bool allow_unlabeled = false);

}  // namespace plexus::app
