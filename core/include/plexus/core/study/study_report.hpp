// What `plexus tune` leaves for a person to read: study.html, one self-contained page (inline
// SVG and CSS, no scripts, nothing fetched from the network) with the optimization history,
// the objective against each parameter, the intermediate curves with pruned trials marked, the
// parameter importance ranking and a table of every trial.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "plexus/core/study/storage.hpp"
#include "plexus/core/study/study.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// Ranks the parameters by how much of the objective's variance they explain, over the
/// complete trials with a finite value: for each parameter the correlation ratio
/// η² = SS_between / SS_total of the objective grouped into bins of that parameter (a choice:
/// one bin per choice; otherwise quantile bins, see docs/study_report.md), then normalised to
/// sum 1. ensures: one entry per space parameter, highest first (ties in study-file order), every
///          value in [0, 1]; all 0 when the objective does not vary; empty when fewer than 2
///          such trials.
std::vector<std::pair<std::string, double>> parameter_importance(
    const StudySpec& spec, const std::vector<TrialRecord>& trials);

/// The page as HTML text. Trials may be in any state, with parameters and intermediate values
/// as stored; a trial whose parameter count does not match the space is shown without them.
/// `test_metrics`: the best trial's evaluation on the test set; empty: not run yet.
std::string render_study_report(const StudySpec& spec, const std::vector<TrialRecord>& trials,
                                const std::vector<std::pair<std::string, double>>& test_metrics);

/// render_study_report() written atomically to `html`; throws plexus::Error when it cannot be.
void write_study_report(const StudySpec& spec, const std::vector<TrialRecord>& trials,
                        const std::vector<std::pair<std::string, double>>& test_metrics,
                        const std::filesystem::path& html);

}  // namespace plexus::core

#pragma GCC visibility pop
