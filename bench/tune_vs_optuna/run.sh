#!/bin/sh
# TPE of Plexus against Optuna 3.1's TPESampler on Branin, Hartmann-6 and 10-D Rosenbrock:
# 50 trials, SEEDS seeds (default 50), both in-process with their default settings (and
# again with multivariate=true). Writes the JSON lines and a Markdown table to OUT.
#
#   bench/tune_vs_optuna/run.sh [SEEDS] [OUT]      (from the repository root, after a build)
set -eu
seeds=${1:-50}
out=${2:-build/release/tune_vs_optuna}
here=$(dirname "$0")
mkdir -p "$out"
for mode in univariate multivariate; do
    flag=""; spec="tpe"
    if [ $mode = multivariate ]; then flag="--multivariate"; spec="tpe multivariate=true"; fi
    build/release/bin/plexus-bench-sampler --sampler "$spec" --seeds "$seeds" \
        | sed "s/\"plexus\"/\"plexus $mode\"/" > "$out/plexus-$mode.jsonl"
    /usr/bin/python3 "$here/optuna_side.py" --seeds "$seeds" $flag 2>/dev/null \
        | sed "s/\"optuna\"/\"optuna $mode\"/" > "$out/optuna-$mode.jsonl"
done
/usr/bin/python3 "$here/summarize.py" "$out"/*.jsonl | tee "$out/table.md"
