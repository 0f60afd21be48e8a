// Tree-structured Parzen Estimator (Bergstra, Bardenet, Bengio & Kégl, 2011, "Algorithms
// for Hyper-Parameter Optimization"), with Optuna 3.1's defaults and choices. After
// `startup` random trials, the finished trials are split into the best γ(n) and the rest;
// a Parzen estimator l(x) is fitted to the first group and g(x) to the second, `candidates`
// points are drawn from l, and the one maximising l(x)/g(x) (the expected improvement) is
// proposed. Univariate by default (one l/g pair per parameter), or one joint pair with
// `multivariate=true`, which models interactions between parameters.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "parzen.hpp"
#include "plexus/plexus.hpp"
#include "plexus/support/space.hpp"

namespace {

using plexus::SearchSpace;
using plexus::TrialState;
using plexus::TrialView;
using plexus::support::RandomStream;
using plexus_tpe::Dim;
using plexus_tpe::Parzen;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::uint64_t kTpeStream = 0x545045;  // "TPE": apart from the random draws

const plexus::ParamSpec kParams[] = {
    {"startup", plexus::ParamType::integer, "10", 0, kInf, nullptr,
     "random trials before the model takes over (Optuna's n_startup_trials)"},
    {"candidates", plexus::ParamType::integer, "24", 1, 1e6, nullptr,
     "points drawn from l(x) per suggestion, the best l/g wins (n_ei_candidates)"},
    {"multivariate", plexus::ParamType::boolean, "false", 0, 0, nullptr,
     "one joint estimator over all parameters instead of one per parameter"},
    {"gamma", plexus::ParamType::real, "0.1", 0, 1, nullptr,
     "fraction of the finished trials that count as good: ceil(gamma n)...", plexus::kMinExclusive},
    {"gamma_max", plexus::ParamType::integer, "25", 1, kInf, nullptr, "...but at most this many"},
    {"prior", plexus::ParamType::boolean, "true", 0, 0, nullptr,
     "add a prior component spanning each whole range (consider_prior)"},
    {"prior_weight", plexus::ParamType::real, "1.0", 0, kInf, nullptr,
     "weight of the prior component, relative to a trial's", plexus::kMinExclusive},
    {"magic_clip", plexus::ParamType::boolean, "true", 0, 0, nullptr,
     "bandwidths at least range / min(100, components) (consider_magic_clip)"},
    {"endpoints", plexus::ParamType::boolean, "false", 0, 0, nullptr,
     "the outermost trials' distance to the bounds counts in their bandwidth"},
};

// A finished trial ranked as Optuna ranks it: every complete trial by its value, then the
// pruned ones, those that ran more steps first, each by its last intermediate value.
struct Observation {
    double stage;  // -inf: complete; -step: pruned after `step` steps; 1: pruned before any
    double value;
    const std::vector<double>* params;
};

bool valid(const plexus::SpaceParam& p, double v) {
    if (!std::isfinite(v)) return false;
    if (p.kind == plexus::SpaceKind::choice)
        return v == std::round(v) && v >= 0 && v < static_cast<double>(p.choices.size());
    const double slack = 1e-9 * (std::fabs(p.low) + std::fabs(p.high) + 1.0);
    return v >= p.low - slack && v <= p.high + slack;
}

// The complete and pruned trials (running and failed ones carry no information on the
// objective), oldest first. A trial whose parameters do not fit the space (a database
// edited by hand, a study from another space) is left out rather than trusted.
std::vector<Observation> observations(const SearchSpace& space,
                                      const std::vector<TrialView>& history) {
    std::vector<const TrialView*> trials;
    for (const auto& t : history) trials.push_back(&t);
    std::stable_sort(trials.begin(), trials.end(),
                     [](auto* a, auto* b) { return a->number < b->number; });
    std::vector<Observation> out;
    for (const TrialView* t : trials) {
        if (t->params.size() != space.size()) continue;
        bool fits = true;
        for (std::size_t d = 0; d < space.size(); ++d) fits = fits && valid(space[d], t->params[d]);
        if (!fits) continue;
        auto finite = [](double v) { return std::isnan(v) ? kInf : v; };
        if (t->state == TrialState::complete && t->value) {
            out.push_back({-kInf, finite(*t->value), &t->params});
        } else if (t->state == TrialState::pruned) {
            if (t->intermediate.empty())
                out.push_back({1.0, 0.0, &t->params});
            else
                out.push_back({-static_cast<double>(t->intermediate.back().first),
                               finite(t->intermediate.back().second), &t->params});
        }
    }
    return out;
}

class TpeSampler final : public plexus::Sampler {
public:
    explicit TpeSampler(const plexus::Params& p)
        : startup_(static_cast<std::size_t>(p.get_int("startup"))),
          candidates_(static_cast<std::size_t>(p.get_int("candidates"))),
          gamma_(p.get_real("gamma")),
          gamma_max_(static_cast<std::size_t>(p.get_int("gamma_max"))) {
        options_.consider_prior = p.get_bool("prior");
        options_.prior_weight = p.get_real("prior_weight");
        options_.magic_clip = p.get_bool("magic_clip");
        options_.endpoints = p.get_bool("endpoints");
        options_.multivariate = p.get_bool("multivariate");
    }

    std::vector<double> suggest(const SearchSpace& space, const std::vector<TrialView>& history,
                                const plexus::SuggestContext& context) override {
        const auto obs = observations(space, history);
        if (obs.size() < startup_ || space.empty()) return random_point(space, context);

        // The best γ(n) by (stage, value), ties to the older trial; each group stays oldest
        // first, which the weights' ramp for old trials relies on.
        std::vector<std::size_t> rank(obs.size());
        std::iota(rank.begin(), rank.end(), 0);
        std::stable_sort(rank.begin(), rank.end(), [&](std::size_t a, std::size_t b) {
            return obs[a].stage != obs[b].stage ? obs[a].stage < obs[b].stage
                                                : obs[a].value < obs[b].value;
        });
        const auto n_below = std::min<std::size_t>(
            static_cast<std::size_t>(std::ceil(gamma_ * static_cast<double>(obs.size()))),
            gamma_max_);
        std::vector<bool> is_below(obs.size(), false);
        for (std::size_t i = 0; i < n_below && i < rank.size(); ++i) is_below[rank[i]] = true;

        std::vector<Dim> dims;
        for (const auto& p : space) dims.push_back(plexus_tpe::make_dim(p));
        if (options_.multivariate)
            return best_candidate(dims, obs, is_below, {}, context, space.size());
        std::vector<double> point;
        for (std::size_t d = 0; d < space.size(); ++d)
            point.push_back(best_candidate({dims[d]}, obs, is_below, {d}, context, d)[0]);
        return point;
    }

private:
    static std::vector<double> random_point(const SearchSpace& space,
                                            const plexus::SuggestContext& context) {
        // The same draws as the random sampler, so a study's startup trials match its own.
        RandomStream random({context.seed, context.trial_number});
        std::vector<double> values;
        for (const auto& p : space) values.push_back(plexus::support::draw(p, random));
        return values;
    }

    // The candidate maximising l/g over `dims`, which are the space's dims `columns` (all
    // of them when empty); `stream` keeps each univariate draw apart.
    std::vector<double> best_candidate(const std::vector<Dim>& dims,
                                       const std::vector<Observation>& obs,
                                       const std::vector<bool>& is_below,
                                       const std::vector<std::size_t>& columns,
                                       const plexus::SuggestContext& context,
                                       std::size_t stream) const {
        std::vector<std::vector<double>> below, above;
        for (std::size_t i = 0; i < obs.size(); ++i) {
            std::vector<double> x;
            if (columns.empty())
                x = *obs[i].params;
            else
                for (auto c : columns) x.push_back((*obs[i].params)[c]);
            (is_below[i] ? below : above).push_back(std::move(x));
        }
        const Parzen l(dims, below, options_), g(dims, above, options_);
        RandomStream random({context.seed, context.trial_number, kTpeStream, stream});
        const auto samples = l.sample(random, candidates_);
        std::size_t best = 0;
        double best_score = -kInf;
        for (std::size_t i = 0; i < samples.size(); ++i) {
            const double score = l.log_pdf(samples[i]) - g.log_pdf(samples[i]);
            if (score > best_score) {
                best_score = score;
                best = i;
            }
        }
        return samples[best];
    }

    std::size_t startup_;
    std::size_t candidates_;
    double gamma_;
    std::size_t gamma_max_;
    plexus_tpe::ParzenOptions options_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<TpeSampler>(
    "tpe", "0.1.0", "Tree-structured Parzen Estimator (Bergstra et al., 2011; Optuna's defaults)",
    kParams))
