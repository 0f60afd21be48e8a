#!/usr/bin/python3
"""Markdown table of tune_vs_optuna results: JSON lines from plexus-bench-sampler and
optuna_side.py (files or stdin), one row per function and side: best value found, mean ±
standard deviation and median over the seeds, and the side's own seconds per trial."""
import collections
import fileinput
import json
import statistics

best = collections.defaultdict(list)
cost = collections.defaultdict(list)
for line in fileinput.input():
    if line.strip():
        r = json.loads(line)
        key = (r["function"], r["side"])
        best[key].append(r["best"])
        cost[key].append(r["seconds_per_trial"])

print("| function | sampler | seeds | best found, mean ± std | median | ms per trial |")
print("|---|---|---|---|---|---|")
for (function, side), values in sorted(best.items()):
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    print("| %s | %s | %d | %.4g ± %.3g | %.4g | %.3g |" % (
        function, side, len(values), statistics.mean(values), std, statistics.median(values),
        1000 * statistics.mean(cost[(function, side)])))
