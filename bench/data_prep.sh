#!/usr/bin/env bash
# What background batch preparation saves: the same training run with data.prefetch on and
# off, alternated REPEATS times, for the plain main job and the augmented example; prints
# seconds per epoch (median of the repeats) and peak RSS (/usr/bin/time -v).
#
#   bench/data_prep.sh [REPEATS=3] [EPOCHS=2]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
epochs=${2:-2}
plexus=build/release/bin/plexus
[ -x "$plexus" ] || { echo "build first: cmake --preset release && cmake --build --preset release" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run() {  # experiment prefetch -> "seconds_per_epoch peak_rss_mb"
    /usr/bin/time -v "$plexus" train "examples/$1.ini" --set train.epochs="$epochs" --set train.verbose=0 \
        --set data.prefetch="$2" --out "$out" > "$out/log" 2>&1
    local spe rss
    spe=$(sed -n 's/.* \([0-9.]*\) s\/epoch$/\1/p' "$out/log")
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$out/log")
    echo "$spe $((rss / 1024))"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf "%-24s %12s %12s %9s %10s\n" experiment "on s/epoch" "off s/epoch" saved "peak RSS"
for exp in fashion_mlp fashion_mlp_augmented; do
    : > "$out/on"; : > "$out/off"; rss=0
    for _ in $(seq "$repeats"); do
        for p in true false; do
            read -r spe mb < <(run "$exp" "$p")
            [ "$p" = true ] && echo "$spe" >> "$out/on" || echo "$spe" >> "$out/off"
            [ "$mb" -gt "$rss" ] && rss=$mb
        done
    done
    on=$(median < "$out/on"); off=$(median < "$out/off")
    saved=$(awk -v on="$on" -v off="$off" 'BEGIN { printf "%.1f", (off - on) / off * 100 }')
    printf "%-24s %12s %12s %8s%% %7s MB\n" "$exp" "$on" "$off" "$saved" "$rss"
done
