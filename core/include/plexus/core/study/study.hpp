// Study files: what `plexus tune STUDY.ini` searches, how, and where it keeps the results.
//
//   [study]
//   experiment = fashion_mlp_tuned.ini   ; base experiment with ${name} placeholders
//   objective = val_accuracy
//   direction = maximize
//   sampler = tpe
//   pruner = hyperband
//   trials = 40
//   [space]
//   lr = loguniform 1e-4 1e-1
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "plexus/study.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

struct StudySpec {
    std::filesystem::path file;        // the study file as given
    std::string name;                  // [study] name, else the file's stem
    std::filesystem::path dir;         // the study's folder: next to the file, named `name`
    std::filesystem::path experiment;  // the base experiment; empty when `command` is set
    std::string command;               // a program printing its objective as its last line
    std::string objective;             // a logged validation value ("val_accuracy", ...)
    bool maximize = false;             // direction = maximize
    std::string sampler = "tpe";       // component specs ("tpe startup=10")
    std::string pruner = "none";
    std::uint64_t trials = 0;    // 0 until resolved: the sampler's size for a grid
    std::uint64_t parallel = 1;  // worker processes on this machine
    std::uint64_t seed = 0;
    double timeout = 0.0;  // seconds per trial; 0 = none
    std::string storage;   // URL; empty = SQLite in `dir`
    SearchSpace space;
    std::vector<std::string> space_where;  // "FILE:LINE" of each space entry, for messages

    /// The canonical text of what makes two runs the same study (space, objective,
    /// direction, experiment or command), stored with it: a different one is refused.
    std::string definition() const;
    /// Where trial `number` runs: DIR/trials/NNNN.
    std::filesystem::path trial_dir(std::uint64_t number) const;
};

/// Parses and checks a study file. Throws ConfigError "FILE:LINE: message" (unknown key,
/// malformed distribution, empty space, a test-set objective, ...).
StudySpec load_study(const std::filesystem::path& file);

/// The text of a small file the study reads (the study file, its base experiment): a regular
/// file of at most 1 MiB. Throws ConfigError naming the file and `what` it should be.
std::string read_small_text(const std::filesystem::path& file, const std::string& what);

/// A parameter value as it is substituted for ${name}: the choice's text, an integer's
/// digits, a real's shortest round-trip form (12 significant digits on a step's lattice, so
/// 0.1 + 0.05 reads 0.15).
std::string param_text(const SpaceParam& param, double value);

/// Checks the ${name} placeholders of a base experiment's (or command's) text against the
/// space: every placeholder outside comments names a parameter, and every parameter is used.
/// Throws ConfigError "WHERE:LINE: ..." naming the undefined or unused parameter.
void check_placeholders(const std::string& text, const StudySpec& spec, const std::string& where);

/// `text` with every ${name} replaced by param_text of its value (`values`: one per space
/// entry). `quote` wraps each value for /bin/sh (single quotes), for `command =` studies.
std::string substitute(const std::string& text, const SearchSpace& space,
                       const std::vector<double>& values, bool quote = false);

/// An experiment's text made to run from `to_dir` while its relative data paths still start
/// where they did when it lived in `from_dir`: sets [experiment] base_dir (keeping one the
/// text already has, re-based).
std::string relocate_experiment(const std::string& text, const std::filesystem::path& from_dir,
                                const std::filesystem::path& to_dir);

}  // namespace plexus::core

#pragma GCC visibility pop
