#!/usr/bin/env bash
# The same MLP training on the cpu device and on an OpenCL device, one after the other, and
# the ratio of their training throughputs.
#
#   bench/opencl_vs_cpu.sh [EXPERIMENT] [BATCH] [EPOCHS] [OPENCL_DEVICE]
#
# Defaults: examples/fashion_mlp.ini, batch 128, 2 epochs, opencl:0. PLEXUS=path/to/plexus
# picks the binary (default build/release/bin/plexus). Extra settings for both runs go in
# SET, e.g. SET="--set data.train_limit=10000". Prints one line per device and the ratio;
# never asserts on time.
set -euo pipefail
cd "$(dirname "$0")/.."

experiment=${1:-examples/fashion_mlp.ini}
batch=${2:-128}
epochs=${3:-2}
opencl=${4:-opencl:0}
plexus=${PLEXUS:-build/release/bin/plexus}
[ -x "$plexus" ] || { echo "opencl_vs_cpu: $plexus not built (cmake --preset release && cmake --build --preset release)" >&2; exit 2; }

runs=$(mktemp -d)
trap 'rm -rf "$runs"' EXIT

# Prints "<samples/s> <s/epoch> <test accuracy>" for one device.
run() {
  local device=$1 log="$runs/$1.log"
  # shellcheck disable=SC2086
  if ! "$plexus" train "$experiment" --device "$device" --out "$runs/$device" \
      --set train.batch_size="$batch" --set train.epochs="$epochs" --set train.verbose=0 \
      ${SET:-} > "$log" 2>&1; then
    echo "opencl_vs_cpu: training on $device failed:" >&2
    tail -n 3 "$log" >&2
    exit 1
  fi
  local perf accuracy
  perf=$(grep -m1 'training samples/s' "$log")
  accuracy=$(grep -m1 '^test:' "$log" | sed -n 's/.*accuracy \([0-9.]*\).*/\1/p')
  echo "$(echo "$perf" | awk '{print $1}') $(echo "$perf" | awk '{print $4}') ${accuracy:--}"
}

echo "experiment: $experiment, batch $batch, $epochs epochs"
"$plexus" devices 2>/dev/null | grep -E "^(cpu|${opencl%%:*}):" || true
cpu_result=$(run cpu)
cl_result=$(run "$opencl")
read -r cpu_sps cpu_epoch cpu_acc <<< "$cpu_result"
read -r cl_sps cl_epoch cl_acc <<< "$cl_result"
printf '%-10s %12s samples/s %8s s/epoch   test accuracy %s\n' cpu "$cpu_sps" "$cpu_epoch" "$cpu_acc"
printf '%-10s %12s samples/s %8s s/epoch   test accuracy %s\n' "$opencl" "$cl_sps" "$cl_epoch" "$cl_acc"
awk -v a="$cl_sps" -v b="$cpu_sps" 'BEGIN { printf "ratio opencl/cpu: %.2fx\n", a / b }'
