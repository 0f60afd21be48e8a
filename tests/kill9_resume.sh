#!/usr/bin/env bash
# kill -9 at random moments of a 6-epoch run, each run resumed with `plexus train --resume`:
# every one must end with the uninterrupted run's history.csv and csv_logger file (but the
# seconds column) and a bit-identical model.safetensors. Prints K/N and exits non-zero unless
# all N are identical. The moments are uniform over the reference run's training (from the
# moment its run folder exists to its end; reading Fashion-MNIST before that takes seconds
# and leaves nothing to resume), from a seed (printed) so a failure can be replayed.
#   tests/kill9_resume.sh [PLEXUS [KILLS [SEED]]]   (default build/release/bin/plexus 10 random)
set -euo pipefail
plexus=$(realpath "${1:-build/release/bin/plexus}")
kills=${2:-10}
seed=${3:-$RANDOM}
data=/usr/share/datasets/fashion-mnist
[ -e "$data/train-images-idx3-ubyte.gz" ] || { echo "needs Fashion-MNIST in $data"; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/exp.ini" <<INI
[experiment]
name = kill9
[data]
train = idx:$data/train
train_limit = 12000
test = idx:$data/t10k
test_limit = 1000
validation = 0.1
seed = 5
[model]
layer = dense units=256
layer = batchnorm
layer = relu
layer = dropout rate=0.3
layer = dense units=10
loss = softmax_cross_entropy
[train]
optimizer = adam lr=0.002
batch_size = 32
epochs = 6
device = cpu adapt_threads=false
metric = accuracy
verbose = 0
callback = early_stopping monitor=val_loss patience=4
callback = reduce_lr_on_plateau patience=1 factor=0.5 min_delta=0.01
callback = csv_logger
INI

no_seconds() {  # a CSV file without its seconds column
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "seconds") s = i }
             { o = ""; for (i = 1; i <= NF; i++) if (i != s) o = o (o == "" ? "" : ",") $i; print o }' "$1"
}
same() {  # run folder $1 against the reference
    cmp -s "$1/model.safetensors" "$ref/model.safetensors" &&
        [ "$(no_seconds "$1/history.csv")" = "$(no_seconds "$ref/history.csv")" ] &&
        [ "$(no_seconds "$1/log.csv")" = "$(no_seconds "$ref/log.csv")" ] &&
        [ -z "$(find "$1" -name '.*.tmp*')" ]
}

wait_for_folder() {  # until $1 holds a run folder (or the process $2 ended)
    until ls -d "$1"/*/ > /dev/null 2>&1 || ! kill -0 "$2" 2> /dev/null; do sleep 0.01; done
}
"$plexus" train "$work/exp.ini" --out "$work/reference" > "$work/reference.log" &
pid=$!
wait_for_folder "$work/reference" "$pid"
start=$(date +%s.%N)
wait "$pid"
duration=$(echo "$(date +%s.%N) - $start" | bc)
ref=$(ls -d "$work"/reference/*/)
echo "reference run: ${duration} s from its run folder to its end; seed $seed"

identical=0
for i in $(seq 1 "$kills"); do
    delay=$(python3 -c "import random; random.seed($seed * 1000 + $i); print(f'{random.uniform(0, $duration):.3f}')")
    "$plexus" train "$work/exp.ini" --out "$work/k$i" > "$work/k$i.log" 2>&1 &
    pid=$!
    wait_for_folder "$work/k$i" "$pid"
    sleep "$delay"
    kill -9 "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
    run=$(ls -d "$work/k$i"/*/ 2> /dev/null | head -1 || true)
    if [ -z "$run" ] || [ ! -e "$run/resume.safetensors" ]; then
        # Killed while the data loaded (or between creating the folder and its first
        # checkpoint, a few milliseconds): nothing was trained, nothing to resume.
        what="before the first checkpoint; trained afresh"
        rm -rf "$work/k$i"
        "$plexus" train "$work/exp.ini" --out "$work/k$i" > "$work/k$i.log" 2>&1
        run=$(ls -d "$work/k$i"/*/)
    else
        epochs=$(($(wc -l < "$run/history.csv" 2> /dev/null || echo 1) - 1))
        what="after $epochs epoch(s); resumed"
        "$plexus" train --resume "$run" > "$work/k$i.resume.log" 2>&1 ||
            { echo "kill $i: --resume failed: $(tail -1 "$work/k$i.resume.log")"; continue; }
    fi
    if same "$run"; then
        identical=$((identical + 1))
        echo "kill $i at ${delay} s into training, $what: identical"
    else
        echo "kill $i at ${delay} s into training, $what: DIFFERENT"
    fi
done
echo "$identical/$kills bit-identical to the uninterrupted run"
[ "$identical" -eq "$kills" ]
