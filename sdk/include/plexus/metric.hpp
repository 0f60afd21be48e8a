// Metric: streaming evaluation over a whole set (counts, never averages of batches).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "plexus/device.hpp"
#include "plexus/export.hpp"
#include "plexus/plugin_kind.hpp"
#include "plexus/targets.hpp"

namespace plexus {

using MetricValues = std::vector<std::pair<std::string, double>>;

/// A labelled table a metric can report besides its scalar values: a confusion matrix (rows
/// true classes, columns predicted classes), per-class precision/recall/F1, ... Row and
/// column labels are class ids as text ("0", "1", ...) unless the metric knows better; the
/// host substitutes class names when it prints them.
struct MetricTable {
    std::string name;                     // "confusion_matrix", "per_class", ...
    std::string row_title, column_title;  // axis names: "true class", "predicted class"
    std::vector<std::string> row_labels, column_labels;
    std::vector<double> values;  // row_labels.size() × column_labels.size(), row after row
};

class PLEXUS_API Metric {
public:
    using Interface = Metric;
    static constexpr Kind kKind = Kind::metric;

    virtual ~Metric();

    /// Allocates workspaces for predictions of `pred` shape (first dimension: largest batch).
    virtual void build(const Shape& pred, Device& device) = 0;
    /// Forgets everything seen so far.
    virtual void reset() = 0;
    /// Accumulates one batch. `target` has pred's shape (one-hot rows for classification).
    virtual void update(const Tensor& pred, const Tensor& target) = 0;
    /// Named results over everything since reset(), e.g. {{"accuracy", 0.91}}.
    virtual MetricValues result() const = 0;
    /// Tables over everything since reset(); none by default.
    virtual std::vector<MetricTable> tables() const;
    /// Whether the metric works on targets of `kind`; the host refuses a metric that does not
    /// (accuracy on a regression run), naming it. Default: classes only. With values, pred and
    /// target reach update() in the target's own units (the target transform inverted).
    virtual bool accepts(TargetKind kind) const;
};

}  // namespace plexus
