// The Parzen estimator of TPE (Bergstra et al., 2011, "Algorithms for Hyper-Parameter
// Optimization"), as Optuna 3.1 builds it: a mixture with one component per observed trial
// plus a prior component spanning the whole range. A numerical parameter's component is a
// normal truncated to the parameter's search interval (in log for log scales), centred on
// the observation, its bandwidth the larger gap to its neighbours (univariate) or Scott's
// rule (multivariate); a discrete parameter's density is the component's mass over the
// lattice point's cell. A categorical parameter's component puts weight 1 on the observed
// choice plus a prior weight shared by all choices.
#pragma once

#include <cstddef>
#include <vector>

#include "plexus/study.hpp"
#include "plexus/support/space.hpp"

namespace plexus_tpe {

/// One parameter as the estimator models it.
struct Dim {
    const plexus::SpaceParam* param = nullptr;
    bool categorical = false;
    std::size_t choices = 0;  // categorical: how many
    double low = 0.0;         // numerical: the search interval
    double high = 0.0;
    double q = 0.0;  // numerical: the lattice spacing in the search coordinate, 0 = continuous
};

/// `p` as a Dim.
Dim make_dim(const plexus::SpaceParam& p);

struct ParzenOptions {
    bool consider_prior = true;
    double prior_weight = 1.0;
    bool magic_clip = true;  // bandwidth ≥ range / min(100, components)
    bool endpoints = false;  // the outermost observations' gap to the bounds counts too
    bool multivariate = false;
};

/// A mixture over `dims` fitted to `observations` (oldest first; each a vector of parameter
/// values, one per dim, inside the parameters' bounds).
class Parzen {
public:
    Parzen(const std::vector<Dim>& dims, const std::vector<std::vector<double>>& observations,
           const ParzenOptions& options);

    /// `n` points drawn from the mixture, as parameter values (rounded onto lattices).
    std::vector<std::vector<double>> sample(plexus::support::RandomStream& random,
                                            std::size_t n) const;
    /// The log density (log mass for discrete dims) of a point of parameter values.
    double log_pdf(const std::vector<double>& point) const;

private:
    struct Component {
        std::vector<double> mu, sigma;          // numerical dims, per component
        std::vector<std::vector<double>> prob;  // categorical dims: [component][choice]
    };

    std::vector<Dim> dims_;
    std::vector<double> weights_;     // per component, sum 1
    std::vector<Component> per_dim_;  // one per dim
};

/// Optuna's default_weights: 1 for each of the newest 25 observations, a linear ramp from
/// 1/n up to 1 for the older ones.
std::vector<double> ramp_weights(std::size_t n);

}  // namespace plexus_tpe
