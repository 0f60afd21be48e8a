#!/usr/bin/python3
"""Optuna 3.1's TPESampler (default settings) on the benchmark functions of functions.hpp.

    /usr/bin/python3 optuna_side.py [--trials N] [--seeds N] [FUNCTION...]

One JSON line per (function, seed), as plexus-bench-sampler prints them: the best value
found and Optuna's own time per trial (study.optimize's wall time less the objective's).
"""
import argparse
import json
import time

import optuna

from functions import FUNCTIONS


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--multivariate", action="store_true")
    parser.add_argument("functions", nargs="*", default=list(FUNCTIONS))
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for name in args.functions:
        low, high, f = FUNCTIONS[name]
        for seed in range(args.seeds):
            spent = [0.0]

            def objective(trial):
                x = [trial.suggest_float("x%d" % d, low[d], high[d]) for d in range(len(low))]
                start = time.perf_counter()
                y = f(x)
                spent[0] += time.perf_counter() - start
                return y

            sampler = optuna.samplers.TPESampler(seed=seed, multivariate=args.multivariate)
            study = optuna.create_study(sampler=sampler)
            start = time.perf_counter()
            study.optimize(objective, n_trials=args.trials)
            overhead = (time.perf_counter() - start - spent[0]) / args.trials
            print(json.dumps({"side": "optuna", "function": name, "seed": seed,
                              "best": study.best_value, "seconds_per_trial": overhead}),
                  flush=True)


if __name__ == "__main__":
    main()
