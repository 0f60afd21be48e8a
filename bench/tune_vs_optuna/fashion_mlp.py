#!/usr/bin/python3
"""Plexus's TPE against Optuna 3.1's TPESampler on a small Fashion-MNIST MLP
(fashion_mlp_base.ini: lr, units, dropout and optimizer searched), the same budget per study.

    /usr/bin/python3 fashion_mlp.py [--trials N] [--seeds N] [--first-seed S] [--build DIR]
                                    [--work DIR]  >  fashion.jsonl

For each seed, one after the other:
  1. `plexus tune` on a study (sampler tpe, pruner none, that seed) over the base experiment;
  2. Optuna (TPESampler(seed=...), default settings, SQLite storage as plexus tune keeps)
     driving the same objective: for each trial the same placeholders are filled into the
     same base text, `plexus train` runs it as a subprocess (--out into a temporary folder)
     and the trial is worth the best val_accuracy over its epochs in history.csv, the rule
     plexus tune applies. A failed run (non-zero exit, no finite value) is a failed trial.

One JSON line per (tuner, seed), as summarize.py reads them: the best val_accuracy, the
failed trials, and the seconds per trial the tuner adds: its wall time less the time inside
trials, a trial being everything from its parameters being fixed to its value being known.
For plexus tune that is the leaderboard's seconds (claim to result: writing the trial's
experiment, the child, storing its epochs and result); for Optuna, the objective function's
call (filling in, writing the experiment, the child with its output in a log file as plexus
tune keeps it, reading history.csv, removing the temporary folder). What is left is each
tuner's own work: sampling, its storage's bookkeeping, starting and closing the study.
"""
import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import tempfile
import time

import optuna

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = os.path.join(HERE, "fashion_mlp_base.ini")
OBJECTIVE = "val_accuracy"
# The [space] of the plexus tune study; suggest() below asks Optuna for the same.
SPACE = """lr = loguniform 1e-4 1e-1
units = choice 64 128 256 512
dropout = uniform 0.0 0.5
optimizer = choice sgd adam rmsprop
"""


def suggest(trial):
    return {
        "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True),
        "units": trial.suggest_categorical("units", [64, 128, 256, 512]),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "optimizer": trial.suggest_categorical("optimizer", ["sgd", "adam", "rmsprop"]),
    }


def fill(text, params):
    for name, value in params.items():
        text = text.replace("${%s}" % name, repr(value) if isinstance(value, float) else
                            str(value))
    if "${" in text:
        raise SystemExit("%s: a placeholder is left after filling in %s" % (BASE, sorted(params)))
    return text


def best_of_history(path):
    """The best finite val_accuracy over the epochs of a history.csv, or None."""
    try:
        with open(path, newline="") as f:
            values = [float(row[OBJECTIVE]) for row in csv.DictReader(f) if row.get(OBJECTIVE)]
    except (OSError, ValueError, KeyError):
        return None
    values = [v for v in values if math.isfinite(v)]
    return max(values) if values else None


def run_plexus(plexus, work, seed, trials):
    study = "fashion-%d" % seed
    path = os.path.join(work, study + ".ini")
    shutil.rmtree(os.path.join(work, study), ignore_errors=True)
    with open(path, "w") as f:
        f.write("[study]\nexperiment = %s\nobjective = %s\ndirection = maximize\n"
                "sampler = tpe\npruner = none\ntrials = %d\nparallel = 1\nseed = %d\n"
                "timeout = 600\n[space]\n%s" % (BASE, OBJECTIVE, trials, seed, SPACE))
    start = time.perf_counter()
    subprocess.run([plexus, "tune", path], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    with open(os.path.join(work, study, "leaderboard.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != trials:
        raise SystemExit("%s: %d trials in the leaderboard, %d planned" % (study, len(rows), trials))
    complete = [float(r["objective"]) for r in rows if r["state"] == "complete"]
    inside = sum(float(r["seconds"]) for r in rows)
    return {"side": "plexus tune", "function": "fashion_mlp", "seed": seed,
            "best": max(complete) if complete else None, "failed": trials - len(complete),
            "seconds_per_trial": (wall - inside) / trials}


def run_optuna(plexus, seed, trials):
    with open(BASE) as f:
        base = f.read()
    inside = [0.0]

    def objective(trial):
        params = suggest(trial)
        start = time.perf_counter()
        folder = tempfile.mkdtemp(prefix="fashion-optuna-")
        try:
            experiment = os.path.join(folder, "experiment.ini")
            with open(experiment, "w") as f:
                f.write(fill(base, params))
            runs = os.path.join(folder, "runs")
            with open(os.path.join(folder, "log.txt"), "w") as log:
                done = subprocess.run([plexus, "train", experiment, "--out", runs],
                                      stdout=log, stderr=subprocess.STDOUT)
            value = None
            if done.returncode == 0:
                found = [d for d in os.listdir(runs) if os.path.isdir(os.path.join(runs, d))]
                if len(found) == 1:
                    value = best_of_history(os.path.join(runs, found[0], "history.csv"))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            inside[0] += time.perf_counter() - start
        return float("nan") if value is None else value  # NaN: Optuna records a failed trial

    folder = tempfile.mkdtemp(prefix="fashion-optuna-study-")
    try:
        study = optuna.create_study(direction="maximize",
                                    sampler=optuna.samplers.TPESampler(seed=seed),
                                    storage="sqlite:///" + os.path.join(folder, "study.db"))
        start = time.perf_counter()
        study.optimize(objective, n_trials=trials)
        wall = time.perf_counter() - start
        complete = [t.value for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"side": "optuna", "function": "fashion_mlp", "seed": seed,
            "best": max(complete) if complete else None, "failed": trials - len(complete),
            "seconds_per_trial": (wall - inside[0]) / trials}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--build", default="build/release")
    parser.add_argument("--work", default="build/release/tune_vs_optuna/fashion")
    args = parser.parse_args()
    plexus = os.path.abspath(os.path.join(args.build, "bin", "plexus"))
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for line in (run_plexus(plexus, work, seed, args.trials),
                     run_optuna(plexus, seed, args.trials)):
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
