#!/usr/bin/env bash
# The gradient allreduce of data-parallel training (mpirun -np 2 plexus train) against the
# step's compute time, for the benchmark models (a) 784-256-128-10, (c) 784-2048-2048-10 and
# (d) the CNN, 2 ranks over shared memory on this machine (bench/README.md, "MPI"):
#  - step alone: one process on the whole batch (its default threads), ms per step;
#  - step on 2 ranks: the same run under mpirun -np 2 (each rank one share, cores / 2 threads),
#    with the sum after backward (train.overlap_allreduce=false, "blocking") and overlapped
#    with backward in buckets ("overlapped": the first 1 MiB, then train.bucket_bytes);
#  - allreduce in the run: what the trainer's gradient allreduce took per step on the
#    training thread (the gradients' way to the host and back, and the wait for the slower
#    rank, included): blocking, the whole of it after backward; overlapped, the downloads and
#    starts between layers plus the final wait (in brackets) and upload: the exposed cost;
#  - buckets: per step, and how many started with a layer's backward still to run;
#  - allreduce alone: plexus-mpi-allreduce on a buffer of the same size after a barrier, the
#    collective's own cost.
# Samples/s come from the runs' own figure (every epoch, the first's warm-up included). The
# blocking and overlapped runs alternate --repeat times (default 2); each figure is the
# fastest of its runs (the least disturbed by other work on a shared machine).
#   bench/mpi_allreduce.sh [--limit 6000] [--epochs 2] [--models acd] [--repeat 2]
set -euo pipefail
cd "$(dirname "$0")/.."
limit=6000 epochs=2 models=acd repeat=2
while [ $# -gt 0 ]; do
    case "$1" in
        --limit) limit=$2; shift 2 ;;
        --epochs) epochs=$2; shift 2 ;;
        --models) models=$2; shift 2 ;;
        --repeat) repeat=$2; shift 2 ;;
        *) echo "usage: bench/mpi_allreduce.sh [--limit N] [--epochs E] [--models acd] [--repeat R]" >&2; exit 2 ;;
    esac
done
bin=build/release/bin
[ -x "$bin/plexus-mpi-allreduce" ] ||
    { echo "needs a build with MPI (apt install libopenmpi-dev openmpi-bin; rebuild)" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

declare -A ini=([a]=bench/models/mlp_adam.ini [c]=bench/models/wide_mlp.ini [d]=bench/models/cnn.ini)
echo "load: $(uptime | sed 's/.*load average/load average/')"
echo
echo "| model | batch | gradient bytes | step alone | step on 2 ranks: blocking | overlapped | allreduce in the run: blocking | overlapped (final wait) | buckets (in backward) | allreduce alone |"
echo "|---|---|---|---|---|---|---|---|---|---|"
min() { sort -g | head -1; }
for m in $(echo "$models" | grep -o .); do
    [ -n "${ini[$m]:-}" ] || { echo "unknown model '$m' (a, c or d)" >&2; exit 2; }
    sets=(--set data.train_limit="$limit" --set data.test_limit=500 --set train.epochs="$epochs"
          --set train.verbose=0)
    batch=$(sed -n 's/^batch_size *= *//p' "${ini[$m]}")
    "$bin/plexus" train "${ini[$m]}" "${sets[@]}" --out "$work/one" > "$work/one.log"
    : > "$work/blocking.logs"; : > "$work/overlapped.logs"
    for i in $(seq "$repeat"); do
        for mode in blocking overlapped; do
            overlap=$([ "$mode" = overlapped ] && echo true || echo false)
            mpirun --oversubscribe -np 2 "$bin/plexus" train "${ini[$m]}" "${sets[@]}" \
                --set train.overlap_allreduce=$overlap --out "$work/two-$mode-$i" > "$work/two.log"
            cat "$work/two.log" >> "$work/$mode.logs"
        done
    done
    per_step() { awk -v b="$batch" '/training samples\/s/ { printf "%.2f\n", 1000 * b / $1 }' "$1" | min; }
    in_run() { sed -n 's/.*MB per step, \([0-9.]*\) ms per step.*/\1/p' "$1" | min; }
    bytes=$(sed -n 's/.*allreduce of \([0-9.]*\) MB per step.*/\1/p' "$work/blocking.logs" | head -1)
    wait_ms=$(sed -n 's/.* \([0-9.]*\) ms per step in the final wait.*/\1/p' "$work/overlapped.logs" | min)
    buckets=$(sed -n 's/.*backward: \([0-9]*\) bucket(s), \([0-9]*\) started in backward.*/\1 (\2)/p' \
        "$work/overlapped.logs" | head -1)
    floats=$(awk -v mb="$bytes" 'BEGIN { printf "%d", mb * 1e6 / 4 }')
    alone=$(mpirun --oversubscribe -np 2 "$bin/plexus-mpi-allreduce" "$floats" | awk 'NR == 2 { print $4 " ms" }')
    echo "| ($m) | $batch | $bytes MB | $(per_step "$work/one.log") ms | $(per_step "$work/blocking.logs") ms | $(per_step "$work/overlapped.logs") ms | $(in_run "$work/blocking.logs") ms | $(in_run "$work/overlapped.logs") ms ($wait_ms ms) | $buckets | $alone |"
done
