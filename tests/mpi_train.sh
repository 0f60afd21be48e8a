#!/usr/bin/env bash
# Data-parallel training under mpirun (issue 20), on the shipped iris CSV (a few seconds):
#  1. 1 vs 2 vs 3 ranks, 2 epochs, global batch 16 (90 training rows: shares 8+8 and 6+5+5,
#     the last batch of 10 split 5+5 and 4+3+3): every epoch's loss, reg_loss (l2), val_loss and
#     accuracy (the training metric), val_accuracy within 1e-4 relative of one process's. No dropout (its masks are per rank)
#     and no batchnorm (its statistics are per rank by default).
#     The same with batchnorm sync=true (SyncBatchNorm: statistics over every rank's share).
#     These runs sum the gradients overlapped with backward (the default); 2 ranks with
#     train.overlap_allreduce=false (one blocking allreduce after backward) give the same
#     losses to the last digit, with and without sync batchnorm (two ranks' sums are a + b
#     in any algorithm).
#  2. Rank 0 alone writes: one run folder, nothing else in the ranks' working folder.
#  3. A 2-rank model is an ordinary model file (plexus evaluate reads it).
#  4. --resume of a 2-rank run on 3 ranks ends where one process training 4 epochs does.
#  5. A data file missing on rank 1 only: one line naming rank 1 and the host, every rank
#     ends non-zero, no run folder.
#  6. kill -9 of one rank: the run ends (non-zero) within 60 s instead of waiting forever.
#  7. batch_size below the rank count: one line, no run folder.
#  8. MPI is a library of its own (libplexus_mpi.so): a command of one process never loads
#     libmpi; without that library, a run of 2 ranks ends on every rank with one line naming it.
#   tests/mpi_train.sh PLEXUS SOURCE_DIR
set -euo pipefail
plexus=$(realpath "$1")
source_dir=$(realpath "$2")
command -v mpirun > /dev/null || { echo "mpi_train skipped: no mpirun (apt install openmpi-bin)"; exit 0; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Shared memory and TCP on loopback only: CI machines have no InfiniBand.
export OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
mpi() { mpirun --oversubscribe -np "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=1; }

cp "$source_dir/examples/data/iris.csv" "$work/iris.csv"
cat > "$work/exp.ini" <<'INI'
[experiment]
name = iris_mpi
[data]
train = csv:iris.csv label=species
split = 60:20:20 stratified
transform = standardize
seed = 7
[model]
layer = dense units=16 l2=1e-3
layer = relu
layer = dense units=3
loss = softmax_cross_entropy
[train]
optimizer = adam lr=0.01
batch_size = 16
epochs = 2
metric = accuracy
verbose = 0
INI

# The columns one process and N ranks must agree on, epoch by epoch, within 1e-4 relative.
compare() {  # history.csv A, history.csv B, label [relative tolerance]
    python3 - "$1" "$2" "$3" "${4:-1e-4}" <<'PY' || failed=1
import csv, sys
a, b, label, tolerance = sys.argv[1:]
tolerance = float(tolerance)
ra, rb = list(csv.DictReader(open(a))), list(csv.DictReader(open(b)))
if len(ra) != len(rb) or not ra:
    sys.exit(f"FAIL: {label}: {len(ra)} epochs against {len(rb)}")
for x, y in zip(ra, rb):
    for col in ("loss", "reg_loss", "accuracy", "val_loss", "val_accuracy"):
        u, v = float(x[col]), float(y[col])
        if abs(u - v) > tolerance * max(abs(u), abs(v), 1e-12):
            sys.exit(f"FAIL: {label}: epoch {x['epoch']} {col} {u} against {v}")
print(f"ok: {label}: {len(ra)} epochs agree within {tolerance:g}")
PY
}
run_dir() { find "$1" -mindepth 1 -maxdepth 1 -type d; }

# 1-3. The same run on 1, 2 and 3 ranks.
for n in 1 2 3; do
    mkdir "$work/w$n"
    (cd "$work/w$n" && mpi "$n" "$plexus" train ../exp.ini --out runs > log 2>&1) ||
        { fail "$n ranks: exit $?"; cat "$work/w$n/log"; }
    [ "$(run_dir "$work/w$n/runs" | wc -l)" = 1 ] || fail "$n ranks: not exactly one run folder"
    [ "$(ls -A "$work/w$n")" = "$(printf 'log\nruns')" ] ||
        fail "$n ranks wrote outside the run folder: $(ls -A "$work/w$n")"
    [ -z "$(find "$work/w$n/runs" -name '.*')" ] || fail "$n ranks left temporary files"
done
for n in 2 3; do
    compare "$(run_dir "$work/w1/runs")/history.csv" "$(run_dir "$work/w$n/runs")/history.csv" \
        "1 vs $n ranks"
done
# SyncBatchNorm: 1 vs 2 vs 3 ranks again, a batchnorm with sync=true after the first layer. That
# layer has no bias: batchnorm cancels it, so its gradient is rounding noise that Adam turns
# into steps of full size, different in every run, which the running mean then follows.
sed 's/^layer = dense units=16 l2=1e-3$/layer = dense units=16 l2=1e-3 use_bias=false\nlayer = batchnorm sync=true/' \
    "$work/exp.ini" > "$work/bn.ini"
grep -q "sync=true" "$work/bn.ini" || fail "no batchnorm in bn.ini"
for n in 1 2 3; do
    mkdir "$work/b$n"
    (cd "$work/b$n" && mpi "$n" "$plexus" train ../bn.ini --out runs > log 2>&1) ||
        { fail "batchnorm sync=true, $n ranks: exit $?"; cat "$work/b$n/log"; }
done
for n in 2 3; do
    compare "$(run_dir "$work/b1/runs")/history.csv" "$(run_dir "$work/b$n/runs")/history.csv" \
        "batchnorm sync=true: 1 vs $n ranks"
done
grep -q "data parallel: 3 ranks" "$work/w3/log" || fail "the 3-rank run did not say it ran on 3 ranks"
# Overlapped (the runs above, one 1 MiB bucket) against one blocking allreduce after backward
# and against buckets of 16 floats (the iris model's 132 values in 9, with batchnorm 148 in
# 10; the first ones started while backward goes on below, boundaries inside layers): the
# same sums, to the last digit.
for ini in exp bn; do
    for mode in blocking small; do
        sets=(--set train.overlap_allreduce=false)
        [ "$mode" = small ] && sets=(--set train.bucket_bytes=64)
        mkdir "$work/$mode$ini"
        (cd "$work/$mode$ini" && mpi 2 "$plexus" train ../$ini.ini "${sets[@]}" --out runs > log 2>&1) ||
            { fail "$ini, $mode allreduce: exit $?"; cat "$work/$mode$ini/log"; }
    done
    grep -q "after backward" "$work/blocking$ini/log" || fail "$ini: the blocking run did not say so"
    grep -q "overlapped with backward: [0-9]* bucket(s), [1-9] started in backward" "$work/small$ini/log" ||
        { fail "$ini: 16-float buckets did not overlap"; cat "$work/small$ini/log"; }
done
grep -q "overlapped with backward: 1 bucket(s)" "$work/w2/log" ||
    { fail "the 2-rank run did not say it overlapped"; cat "$work/w2/log"; }
for mode in blocking small; do
    compare "$(run_dir "$work/w2/runs")/history.csv" "$(run_dir "$work/${mode}exp/runs")/history.csv" \
        "2 ranks: 1 MiB buckets vs $mode allreduce" 0
    compare "$(run_dir "$work/b2/runs")/history.csv" "$(run_dir "$work/${mode}bn/runs")/history.csv" \
        "batchnorm sync=true, 2 ranks: 1 MiB buckets vs $mode allreduce" 0
done
(cd "$work" && "$plexus" evaluate "$(run_dir "$work/w2/runs")" --data "csv:iris.csv label=species" \
    > evaluate.log 2>&1) || { fail "evaluate of the 2-rank model"; cat "$work/evaluate.log"; }

# 4. Two ranks for 2 epochs, resumed on three for 2 more, against one process for 4.
(cd "$work/w1" && "$plexus" train ../exp.ini --set train.epochs=4 --out runs4 > log4 2>&1) ||
    fail "one process, 4 epochs"
resumed=$(run_dir "$work/w2/runs")
(cd "$work/w2" && mpi 3 "$plexus" train --resume "$resumed" --set train.epochs=4 > log4 2>&1) ||
    { fail "resume of a 2-rank run on 3 ranks"; cat "$work/w2/log4"; }
compare "$(run_dir "$work/w1/runs4")/history.csv" "$resumed/history.csv" "2 ranks resumed on 3"

# 5. rank 1 has no iris.csv: each rank starts in its own folder with its own copy of exp.ini.
for r in 0 1; do mkdir "$work/m$r" && cp "$work/exp.ini" "$work/m$r/"; done
cp "$work/iris.csv" "$work/m0/"
set +e
timeout 60 mpirun --oversubscribe -np 2 sh -c "cd '$work/m'\$OMPI_COMM_WORLD_RANK && exec '$plexus' train exp.ini --out runs" \
    > "$work/missing.log" 2>&1
code=$?
set -e
[ "$code" -ne 0 ] && [ "$code" -ne 124 ] || fail "a file missing on rank 1: exit $code"
grep -q "plexus: error: rank 1 of 2 on $(hostname).*iris.csv" "$work/missing.log" ||
    { fail "no line naming rank 1, the host and the file"; cat "$work/missing.log"; }
[ ! -e "$work/m0/runs" ] || fail "a file missing on rank 1: rank 0 made a run folder"

# 6. kill -9 of rank 1 in the middle of a long run: mpirun ends the others.
cat > "$work/rank.sh" <<SH
#!/bin/sh
echo \$\$ > "$work/pid.\$OMPI_COMM_WORLD_RANK"
exec "$plexus" train "$work/exp.ini" --set train.epochs=100000 --set train.batch_size=2 --out "$work/k"
SH
chmod +x "$work/rank.sh"
(cd "$work" && code=0 && { timeout 120 mpirun --oversubscribe -np 2 "$work/rank.sh" > kill.log 2>&1 ||
    code=$?; } && echo "$code" > kill.code) &
for _ in $(seq 200); do [ -s "$work/pid.1" ] && [ -d "$work/k" ] && break; sleep 0.1; done
sleep 1
start=$(date +%s)
kill -9 "$(cat "$work/pid.1")" || fail "rank 1 was not running"
wait
code=$(cat "$work/kill.code")
seconds=$(($(date +%s) - start))
[ "$code" -ne 0 ] && [ "$code" -ne 124 ] && [ "$seconds" -le 60 ] ||
    fail "after kill -9 of rank 1: exit $code after $seconds s"
echo "ok: kill -9 of rank 1 ended the run in $seconds s (exit $code)"

# 7. Three ranks cannot share batches of two rows.
mkdir "$work/small"
if (cd "$work/small" && mpi 3 "$plexus" train ../exp.ini --set train.batch_size=2 --out runs \
        > log 2>&1); then
    fail "batch_size 2 on 3 ranks was accepted"
fi
grep -q "train.batch_size 2 is smaller than the 3 ranks" "$work/small/log" ||
    { fail "batch_size 2 on 3 ranks: no line saying so"; cat "$work/small/log"; }
[ ! -e "$work/small/runs" ] || fail "batch_size 2 on 3 ranks: a run folder was made"

# 8. One process loads no MPI; a build tree without libplexus_mpi.so refuses several ranks.
if LD_DEBUG=libs "$plexus" --version 2>&1 | grep -q "libmpi"; then
    fail "plexus --version loaded libmpi"
fi
build=$(dirname "$(dirname "$plexus")")
mkdir -p "$work/nompi/bin"
cp "$plexus" "$work/nompi/bin/"
cp -a "$build/lib" "$work/nompi/lib"
rm "$work/nompi/lib/libplexus_mpi.so"
chmod -R go-w "$work/nompi"
mkdir "$work/n0"
if (cd "$work/n0" && mpi 2 "$work/nompi/bin/plexus" train ../exp.ini --out runs > log 2>&1); then
    fail "2 ranks without libplexus_mpi.so were accepted"
fi
[ "$(grep -c "libplexus_mpi.so cannot be loaded" "$work/n0/log")" = 2 ] ||
    { fail "without libplexus_mpi.so: not one line per rank naming it"; cat "$work/n0/log"; }
[ ! -e "$work/n0/runs" ] || fail "without libplexus_mpi.so: a run folder was made"
echo "ok: one process loads no MPI; without libplexus_mpi.so 2 ranks end with one line each"

[ "$failed" = 0 ] && echo "mpi_train: all passed"
exit "$failed"
