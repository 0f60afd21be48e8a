// Step decay (the classic "divide the rate by 10 every N epochs" of Krizhevsky et al., 2012;
// PyTorch's StepLR): lr = initial_lr * gamma^floor(epoch / step_size), set before each epoch.
#include <cmath>
#include <limits>

#include "plexus/plexus.hpp"
#include "plexus/support/schedule.hpp"

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

const plexus::ParamSpec kParams[] = {
    {"step_size", plexus::ParamType::integer, "10", 1, kInf, nullptr,
     "epochs between two multiplications by gamma"},
    {"gamma", plexus::ParamType::real, "0.1", 0, 1, nullptr,
     "factor applied every step_size epochs", plexus::kMinExclusive},
};

class StepDecay final : public plexus::support::Schedule {
public:
    explicit StepDecay(const plexus::Params& p)
        : Schedule(false),
          step_size_(static_cast<std::size_t>(p.get_int("step_size"))),
          gamma_(p.get_real("gamma")) {}

private:
    double factor(std::size_t epoch) const override {
        return std::pow(gamma_, static_cast<double>(epoch / step_size_));
    }

    std::size_t step_size_;
    double gamma_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<StepDecay>(
    "step_decay", "0.1.0", "Multiply the learning rate by gamma every step_size epochs", kParams))
