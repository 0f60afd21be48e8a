// The fuzz test's targets: which file of which kind gets mutated, and which plexus commands
// run on it. A Bench holds the seed files and the three small models the targets start from.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "formats.hpp"
#include "runner.hpp"

namespace plexus::fuzz {

/// One kind of mutated input. Its case folder gets the input as `file`, beside unmutated
/// companions (the other file of an IDX or .npy pair, the rest of a run folder).
struct Target {
    std::string name;                   // names saved inputs too: no "__" in it
    std::string file;                   // where the input goes, relative to the case folder
    std::vector<std::string> commands;  // what runs on it: train, evaluate, predict, ...
    double time_factor = 1.0;           // times the case time limit (train and tune: twice)
};

/// Every target, in the order the cases take them round-robin.
const std::vector<Target>& targets();
/// The target called `name`, or nullptr.
const Target* find_target(const std::string& name);

class Bench {
public:
    /// Writes the seed files under `root` and trains three small models with the real
    /// plexus command: a classifier of a CSV (with standardize), one of IDX images (with
    /// batchnorm) and an LSTM forecaster of a series (with a standardized target). Throws
    /// std::runtime_error with plexus's stderr when one does not train.
    Bench(const std::filesystem::path& root, double timeout_s);

    /// A fresh mutation of `target`'s seed, its notes (what was done) in `notes`.
    std::string make_input(const Target& target, Rng& rng, Notes& notes) const;

    /// Writes `input` and its companions into `dir` and returns the command that runs
    /// `command` of `target` on them; `inputs` receives every file written.
    Command place(const Target& target, const std::string& command, const std::string& input,
                  const std::filesystem::path& dir, std::set<std::filesystem::path>& inputs) const;

    const std::filesystem::path& root() const { return root_; }

private:
    std::filesystem::path root_, seeds_;
    std::filesystem::path cls_model_, idx_model_, series_model_, cls_run_;
    std::filesystem::path catalog_file_;  // the build tree's plugin catalog, relative to a case
    std::map<std::string, std::string> seed_;  // target name -> the bytes it mutates
    std::vector<std::string> experiments_;     // the four experiment files, as text
    double timeout_s_;
};

}  // namespace plexus::fuzz
