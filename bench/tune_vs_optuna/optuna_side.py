#!/usr/bin/python3
"""Optuna 3.1's TPESampler (default settings) on the benchmark functions of functions.hpp.

    /usr/bin/python3 optuna_side.py [--trials N] [--seeds N] [FUNCTION...]

One JSON line per (function, seed), as plexus-bench-sampler prints them: the best value
found and Optuna's own time per trial (study.optimize's wall time less the objective's).
"""
import argparse
import json
import math
import time

import optuna

PI = math.pi


def branin(x):
    b, c, t = 5.1 / (4 * PI * PI), 5 / PI, 1 / (8 * PI)
    return (x[1] - b * x[0] ** 2 + c * x[0] - 6) ** 2 + 10 * (1 - t) * math.cos(x[0]) + 10


ALPHA = [1.0, 1.2, 3.0, 3.2]
A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
     [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
     [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
     [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
     [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]


def hartmann6(x):
    return -sum(ALPHA[i] * math.exp(-sum(A[i][j] * (x[j] - P[i][j]) ** 2 for j in range(6)))
                for i in range(4))


def rosenbrock(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


FUNCTIONS = {
    "branin": ([-5, 0], [10, 15], branin),
    "hartmann6": ([0] * 6, [1] * 6, hartmann6),
    "rosenbrock10": ([-5] * 10, [10] * 10, rosenbrock),
}


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
