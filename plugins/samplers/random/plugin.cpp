// Random search (Bergstra & Bengio, 2012, "Random search for hyper-parameter optimization"):
// every parameter drawn independently and uniformly in its search coordinate. The draws
// depend on (seed, trial number) only, never on the history, so parallel workers reproduce
// a study exactly whatever order its trials finish in.
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/sampler.hpp"
#include "plexus/support/space.hpp"

namespace {

class RandomSampler final : public plexus::Sampler {
public:
    explicit RandomSampler(const plexus::Params&) {}

    std::vector<double> suggest(const plexus::SearchSpace& space,
                                const std::vector<plexus::TrialView>&,
                                const plexus::SuggestContext& context) override {
        plexus::support::RandomStream random({context.seed, context.trial_number});
        std::vector<double> values;
        values.reserve(space.size());
        for (const auto& p : space) values.push_back(plexus::support::draw(p, random));
        return values;
    }
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<RandomSampler>(
    "random", "0.1.0", "Draw every parameter independently and uniformly (log scales in log)"))
