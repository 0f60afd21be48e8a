#!/bin/sh
# TPE of Plexus against Optuna 3.1's TPESampler on Branin, Hartmann-6 and 10-D Rosenbrock,
# 50 trials per study, default settings on both sides:
#   1. in-process, SEEDS seeds (default 150): the algorithms' quality and own cost;
#   2. the same with multivariate=true, SEEDS_MV seeds (default 50);
#   3. as users run them, TUNE_SEEDS seeds (default 10): `plexus tune` with `command =`
#      against Optuna running the same objective process per trial and keeping its study in
#      SQLite.
# Writes the JSON lines and Markdown tables under OUT (default build/release/tune_vs_optuna).
#
#   bench/tune_vs_optuna/run.sh [SEEDS] [SEEDS_MV] [TUNE_SEEDS] [OUT]   (repository root,
#                                                                     after a release build)
set -eu
seeds=${1:-150}
seeds_mv=${2:-50}
tune_seeds=${3:-10}
out=${4:-build/release/tune_vs_optuna}
here=$(dirname "$0")
py=/usr/bin/python3
summarize=$(cd "$here" && pwd)/summarize.py
mkdir -p "$out"
build/release/bin/plexus-bench-sampler --seeds "$seeds" > "$out/plexus.jsonl"
$py "$here/optuna_side.py" --seeds "$seeds" 2>/dev/null > "$out/optuna.jsonl"
build/release/bin/plexus-bench-sampler --sampler "tpe multivariate=true" --seeds "$seeds_mv" \
    | sed 's/"plexus"/"plexus multivariate"/' > "$out/plexus-multivariate.jsonl"
$py "$here/optuna_side.py" --seeds "$seeds_mv" --multivariate 2>/dev/null \
    | sed 's/"optuna"/"optuna multivariate"/' > "$out/optuna-multivariate.jsonl"
$py "$here/tune_side.py" --seeds "$tune_seeds" --work "$out/studies" > "$out/plexus-tune.jsonl"
$py "$here/optuna_side.py" --seeds "$tune_seeds" \
    --command "$(pwd)/build/release/bin/plexus-bench-objective" 2>/dev/null \
    > "$out/optuna-command.jsonl"
for part in "plexus.jsonl optuna.jsonl" "plexus-multivariate.jsonl optuna-multivariate.jsonl" \
            "plexus-tune.jsonl optuna-command.jsonl"; do
    (cd "$out" && $py "$summarize" $part)
    echo
done | tee "$out/tables.md"
