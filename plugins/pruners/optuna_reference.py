#!/usr/bin/python3
# Expected values of the simulated studies in plugins/pruners/*/test_*.cpp, from Optuna 3.1
# (Debian's python3-optuna; run with /usr/bin/python3). The curves are those of
# plexus::testing::synthetic_curves(30, 2017) (plexus/testing/pruners.hpp), 27 epochs each;
# a trial reports after every epoch and is asked whether to stop, except after its last one.
#
# Where Plexus deliberately differs from Optuna, the difference is patched in here (and each
# README says so):
#  - a rung with fewer than reduction_factor values promotes every trial (Optuna: only the
#    best one);
#  - Hyperband assigns brackets by splitmix64 of the trial number (Optuna: CRC32 of the study
#    name and number), so that the assignment depends on nothing a pruner is not given.
import sys

import optuna
from optuna.pruners import _successive_halving

optuna.logging.set_verbosity(optuna.logging.WARNING)
MASK = (1 << 64) - 1


def synthetic_curves(count, seed):
    state = seed

    def uniform():
        nonlocal state
        state = (state * 6364136223846793005 + 1442695040888963407) & MASK
        return (state >> 11) / 9007199254740992.0

    curves = []
    for _ in range(count):
        a = 0.2 + 0.4 * uniform()
        curves.append((a, 0.2 + uniform()))
    return curves


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def promote_while_few(value, competing, reduction_factor, direction):
    if len(competing) < reduction_factor:
        return True
    return ORIGINAL_PROMOTABLE(value, competing, reduction_factor, direction)


def bracket_by_number(self, study, trial):
    if not self._pruners:  # before Optuna has set up its brackets, as its own version
        return 0
    ticket = splitmix64(trial.number) % self._total_trial_allocation_budget
    for bracket_id, budget in enumerate(self._trial_allocation_budgets):
        if ticket < budget:
            return bracket_id
        ticket -= budget
    raise AssertionError("unreachable")


ORIGINAL_PROMOTABLE = _successive_halving._is_trial_promotable_to_next_rung
_successive_halving._is_trial_promotable_to_next_rung = promote_while_few
optuna.pruners.HyperbandPruner._get_bracket_id = bracket_by_number


def simulate(pruner, step_offset, epochs=27):
    study = optuna.create_study(pruner=pruner)
    total, pruned = 0, []
    for number, (a, b) in enumerate(synthetic_curves(30, 2017)):
        trial = study.ask()
        for t in range(1, epochs + 1):
            value = a + b / t
            trial.report(value, t - step_offset)
            total += 1
            if t < epochs and trial.should_prune():
                pruned.append(number)
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                break
        else:
            study.tell(trial, value)
    return total, pruned


# Optuna's steps: the median's warm-up counts from step 0, so epoch t is step t - 1; the
# rungs of successive halving are at min_resource * rf^k steps, and Plexus puts them at that
# many epochs, so epoch t is step t.
PRUNERS = {
    "median": (lambda: optuna.pruners.MedianPruner(), 1),
    "successive_halving": (
        lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3), 0),
    "hyperband": (
        lambda: optuna.pruners.HyperbandPruner(min_resource=1, max_resource=27,
                                               reduction_factor=3), 0),
}

for name in sys.argv[1:] or PRUNERS:
    make, offset = PRUNERS[name]
    total, pruned = simulate(make(), offset)
    print(f"{name}: {total} of {30 * 27} epochs; pruned trials {pruned}")
