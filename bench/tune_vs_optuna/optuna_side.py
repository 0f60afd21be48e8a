#!/usr/bin/python3
"""Optuna 3.1's TPESampler (default settings) on the benchmark functions of functions.hpp.

    /usr/bin/python3 optuna_side.py [--trials N] [--seeds N] [--first-seed S] [--multivariate]
                                    [FUNCTION...]

One JSON line per (function, seed), as plexus-bench-sampler prints them: the best value
found and Optuna's own time per trial (study.optimize's wall time less the objective's).
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time

import optuna

from functions import FUNCTIONS


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--multivariate", action="store_true")
    parser.add_argument("--command", metavar="OBJECTIVE",
                        help="run plexus-bench-objective through /bin/sh per trial and keep "
                             "the study in SQLite, as plexus tune does")
    parser.add_argument("functions", nargs="*", default=list(FUNCTIONS))
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for name in args.functions:
        low, high, f = FUNCTIONS[name]
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            spent = [0.0]

            def objective(trial):
                x = [trial.suggest_float("x%d" % d, low[d], high[d]) for d in range(len(low))]
                start = time.perf_counter()
                if args.command:
                    line = "%s %s %s" % (args.command, name, " ".join(repr(v) for v in x))
                    y = float(subprocess.run(["/bin/sh", "-c", line], check=True,
                                             capture_output=True, text=True).stdout)
                else:
                    y = f(x)
                spent[0] += time.perf_counter() - start
                return y

            sampler = optuna.samplers.TPESampler(seed=seed, multivariate=args.multivariate)
            folder = tempfile.mkdtemp()
            storage = "sqlite:///" + os.path.join(folder, "study.db") if args.command else None
            study = optuna.create_study(sampler=sampler, storage=storage)
            start = time.perf_counter()
            study.optimize(objective, n_trials=args.trials)
            overhead = (time.perf_counter() - start - spent[0]) / args.trials
            side = "optuna command" if args.command else "optuna"
            print(json.dumps({"side": side, "function": name, "seed": seed,
                              "best": study.best_value, "seconds_per_trial": overhead}),
                  flush=True)
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
