// Several saved models run as one: each member prepares the data with its own fitted
// transforms and predicts; the ensemble combines what they predict. A single saved model is an
// ensemble of one, so the commands that run a model (evaluate, predict) have one kind of model.
// On disk an ensemble is a folder: ensemble.json (method, weights, member files) next to copies
// of its members' model.safetensors.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "plexus/core/modelfile/saved_model.hpp"

#pragma GCC visibility push(default)

namespace plexus::core {

/// Most members an ensemble (and ensemble.json) may have.
inline constexpr std::size_t kMaxEnsembleMembers = 64;
/// Largest ensemble.json read, in bytes.
inline constexpr std::size_t kMaxEnsembleFileBytes = 1 << 20;

struct Ensemble {
    /// ensemble.json, or a single model's .safetensors.
    std::filesystem::path file;
    /// "average" (mean of probabilities or values), "vote" (each member's class counts once;
    /// a tie goes to the lowest class id) or "weighted" (weighted mean of probabilities or
    /// values).
    std::string method = "average";
    std::vector<double> weights;  // one per member, summing to 1
    std::vector<std::unique_ptr<SavedModel>> members;
    std::vector<std::string> names;  // what each member was called (a path), for tables
    std::size_t batch = 0;

    /// A single model, not a combination: evaluate and predict are exactly its own.
    bool single() const { return members.size() == 1; }
    /// The members agree on these (check_members): the first member's.
    const ModelCard& card() const { return members.front()->card; }
    bool float_targets() const { return members.front()->float_targets(); }
    std::size_t output_columns() const { return members.front()->output_columns(); }
    Dataset reference() const;
    /// Every member's SavedModel::warm_up, one after the other.
    void warm_up();

    /// Per sample of `ids`, the combined prediction: class probabilities (average, weighted)
    /// or each class's share of the votes (vote); float targets: the (weighted) mean of the
    /// members' predictions, in the target's units. out.size() = ids.size() * output_columns().
    void predict(const Dataset& data, const std::vector<std::uint32_t>& ids,
                 std::vector<float>& out);
    /// predict, also updating `metrics` (built and reset here). The metrics see the combined
    /// probabilities as logits whose softmax (or sigmoid, one binary column) they are, and
    /// float targets in their units. A single model: SavedModel::evaluate.
    void evaluate(const Dataset& data, const std::vector<std::uint32_t>& ids,
                  const std::vector<std::shared_ptr<Metric>>& metrics, std::vector<float>* out);
    /// evaluate from the members' own outputs on `ids` (SavedModel::evaluate's or predict's,
    /// one vector per member in order) instead of running them again: `plexus ensemble`
    /// scores each member first. Combined as predict combines, also for an ensemble of one.
    /// Throws Error when a vector is missing or has another size.
    void evaluate_outputs(const Dataset& data, const std::vector<std::uint32_t>& ids,
                          const std::vector<std::vector<float>>& member_outputs,
                          const std::vector<std::shared_ptr<Metric>>& metrics,
                          std::vector<float>* out) const;

private:
    // predict's combination, one member at a time: `sum` (ids x output_columns, zeroed) gains
    // member m's output; finish_combined turns the sums into the combined prediction.
    void add_member_output(std::size_t m, const std::vector<float>& one,
                           std::vector<double>& sum) const;
    void finish_combined(const std::vector<double>& sum, std::vector<float>& out) const;
    // The DataErrors evaluate gives for data the combination cannot be scored on.
    void check_scorable(const Dataset& data, const std::vector<std::uint32_t>& ids,
                        bool scoring) const;
    // Updates `metrics` (built and reset here) with the combined prediction.
    void score(const Dataset& data, const std::vector<std::uint32_t>& ids,
               const std::vector<float>& combined,
               const std::vector<std::shared_ptr<Metric>>& metrics) const;
};

/// Combines `members` (named `names`) with `method`; `weights` (only for "weighted"; empty:
/// equal) are normalised. Requires at least one member. Throws ConfigError for an unknown
/// method, weights of another count, a negative or non-finite weight or a zero sum, or vote
/// on float targets; DataError naming two members and what differs when they disagree on
/// input shape, target kind, classes (count and names) or float targets (check_members).
std::unique_ptr<Ensemble> make_ensemble(std::vector<std::unique_ptr<SavedModel>> members,
                                        std::vector<std::string> names, const std::string& method,
                                        std::vector<double> weights);

/// Throws DataError "MEMBER_A and MEMBER_B differ: ..." for the first disagreement among
/// `members`: input shape, what they predict, classes, float targets, output columns; an
/// autoencoder (target = input) cannot be a member of an ensemble of more than one.
void check_members(const std::vector<std::unique_ptr<SavedModel>>& members,
                   const std::vector<std::string>& names);

/// `path` names an ensemble: a folder holding ensemble.json, or a file named *.json.
bool is_ensemble_path(const std::filesystem::path& path);

/// Loads what `path` names: an ensemble (is_ensemble_path) with every member, or one saved
/// model (load_model) as an ensemble of one. ensemble.json is read as hostile input: at most
/// kMaxEnsembleFileBytes, format "plexus-ensemble" version 1, a known method, 1 to
/// kMaxEnsembleMembers members, each a plain *.safetensors file name in the same folder (no
/// folders, no "..") with a finite weight in [0, 1e6]; anything else is a one-line DataError
/// naming the file and the field.
std::unique_ptr<Ensemble> load_any_model(const std::filesystem::path& path,
                                         const Registry& registry, const std::string& device_spec,
                                         std::size_t batch = 1024);

/// Throws Error unless `dir` is new, empty or an ensemble's folder (holds ensemble.json): the
/// check save_ensemble makes, for callers to make before the work that precedes saving.
void check_ensemble_folder(const std::filesystem::path& dir);

/// Writes `ensemble` into the folder `dir` (created): member_N.safetensors, copies of the
/// members' files, then ensemble.json naming them; each file atomically, ensemble.json last,
/// so a reader never finds it naming a file not yet written. Returns ensemble.json's path.
/// Requires: check_ensemble_folder(dir) passes (else that Error). The members' files are all read
/// before the first is written, so members taken from `dir` itself are copied intact.
std::filesystem::path save_ensemble(const Ensemble& ensemble, const std::filesystem::path& dir);

}  // namespace plexus::core

#pragma GCC visibility pop
