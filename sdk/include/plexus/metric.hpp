// Metric: streaming evaluation over a whole set (counts, never averages of batches).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "plexus/device.hpp"
#include "plexus/export.hpp"
#include "plexus/plugin_kind.hpp"

namespace plexus {

using MetricValues = std::vector<std::pair<std::string, double>>;

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
};

}  // namespace plexus
