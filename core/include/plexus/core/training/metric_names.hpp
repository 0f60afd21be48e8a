// The names a run's metrics are logged under. A metric reports its values under its own
// name ("f1", or "f1_0", "f1_1", ... per class); two metrics of one kind would then write the
// same columns of history.csv and the same keys of metrics.json, the second silently hiding
// the first. The host therefore names each metric: an explicit `name=` wins, a metric alone
// of its kind keeps its own name (so a study's objective val_f1 keeps working), and metrics
// of one kind get the values of the parameters in which they differ ("f1 average=macro" and
// "f1 average=micro" are f1_macro and f1_micro; "top_k_accuracy k=3" is top_k_accuracy_k3).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plexus/core/registry/registry.hpp"
#include "plexus/metric.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// Creates the metrics of `specs` in order, each reporting its values under the name the
/// rules above give it (a value "f1_3" of a metric named f1_macro becomes "f1_macro_3").
/// `name=` is the host's parameter, taken off before the plugin sees the others; it must be
/// letters, digits, '_', '-' or '.', and not a name the history uses itself (loss, lr, ...).
/// Throws ConfigError "WHERE: ..." (one line) for a bad name or two metrics that would share
/// one, and what Registry::create throws for an unknown metric or parameter.
std::vector<std::shared_ptr<Metric>> create_named_metrics(const Registry& registry,
                                                          const std::vector<ComponentSpec>& specs);

/// Throws ConfigError naming the value when two built metrics report a value of the same name,
/// or one reports a name the history keeps for itself ("loss", "val_...").
void check_metric_value_names(const std::vector<std::shared_ptr<Metric>>& metrics);

}  // namespace plexus::core

#pragma GCC visibility pop
