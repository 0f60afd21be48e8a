#!/usr/bin/python3
"""Plexus's side through `plexus tune`: one study per (function, seed), its objective the
compiled plexus-bench-objective (`command =`), SQLite storage, as a user would run it.

    /usr/bin/python3 tune_side.py [--sampler SPEC] [--trials N] [--seeds N] [--first-seed S]
                                  [--build DIR] [--work DIR] [FUNCTION...]

One JSON line per (function, seed): the best value (the leaderboard's first row) and the
seconds per trial `plexus tune` adds to the objective's own: the study's wall time less the
time of running the same command lines through /bin/sh one after another.
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import time

from functions import FUNCTIONS


def command_lines(objective, name, dims, rows):
    return ["%s %s %s" % (objective, name, " ".join(repr(v) for v in row[:dims])) for row in rows]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sampler", default="tpe")
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--build", default="build/release")
    parser.add_argument("--work", default="build/release/tune_vs_optuna/studies")
    parser.add_argument("functions", nargs="*", default=list(FUNCTIONS))
    args = parser.parse_args()
    plexus = os.path.abspath(os.path.join(args.build, "bin", "plexus"))
    objective = os.path.abspath(os.path.join(args.build, "bin", "plexus-bench-objective"))
    os.makedirs(args.work, exist_ok=True)
    for name in args.functions:
        low, high, _ = FUNCTIONS[name]
        dims = len(low)
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            study = "%s-%d" % (name, seed)
            path = os.path.join(args.work, study + ".ini")
            shutil.rmtree(os.path.join(args.work, study), ignore_errors=True)
            with open(path, "w") as f:
                f.write("[study]\ncommand = %s %s %s\ndirection = minimize\nsampler = %s\n"
                        "trials = %d\nseed = %d\n[space]\n" % (objective, name,
                                       " ".join("${x%d}" % d for d in range(dims)),
                                       args.sampler, args.trials, seed))
                for d in range(dims):
                    f.write("x%d = uniform %r %r\n" % (d, float(low[d]), float(high[d])))
            start = time.perf_counter()
            subprocess.run([plexus, "tune", path], check=True, stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - start
            with open(os.path.join(args.work, study, "leaderboard.csv")) as f:
                rows = list(csv.DictReader(f))
            best = min(float(r["objective"]) for r in rows if r["state"] == "complete")
            params = [[float(r["x%d" % d]) for d in range(dims)] for r in rows]
            start = time.perf_counter()
            for line in command_lines(objective, name, dims, params):
                subprocess.run(["/bin/sh", "-c", line], check=True, stdout=subprocess.DEVNULL)
            baseline = time.perf_counter() - start
            print(json.dumps({"side": "plexus tune", "function": name, "seed": seed,
                              "best": best,
                              "seconds_per_trial": (wall - baseline) / len(rows)}), flush=True)


if __name__ == "__main__":
    main()
