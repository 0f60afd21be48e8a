#!/usr/bin/env bash
# Issue 7's GPU measurements in one call, on a machine that has an NVIDIA GPU, its driver, a
# PyTorch install and nothing of Plexus's build: run from the repository root with the
# bundle made by bench/gpu/bundle.sh (gpu-bundle/plexus-bundle.tar.xz) beside it.
#
#   bash bench/gpu/run.sh [--quick] [--dry-run] [--budget SECONDS] [--target SECONDS] [--only LIST]
#
# Unpacks the bundle into a temporary folder and runs its plexus through its own glibc
# loader (any x86-64 Linux); points the bundled OpenCL ICD loader at the NVIDIA driver's
# libnvidia-opencl.so through a generated nvidia.icd (OCL_ICD_VENDORS); lists the devices;
# then measures steady-state training samples/s of
#   (1) 784-256-128-10 Adam at batch 128 (bench/models/mlp_adam.ini),
#   (2) the same at batch 1024,
#   (3) 784-4096-4096-10 Adam at batch 1024 (bench/gpu/wide4096_adam.ini)
# on Plexus --device cpu, Plexus --device opencl (CLBlast GEMM on GPUs) and, for (3), opencl
# gemm=tiled (our own kernel), PyTorch on CUDA and PyTorch on the CPU (the first python
# with torch: $PYTHON, python3, python, /opt/conda/bin/python, /usr/bin/python3). Writes
# results.md, results.json, run.log, devices.txt, logs/ to $OUT (default ./gpu-out) and
# prints the table with the goals (wide MLP: opencl >= 20x cpu, PyTorch CUDA / opencl <= 2).
#
# Each Plexus run is preceded by a short uncounted warm-up run (2 epochs of a few batches)
# that fills the kernel cache and measures a rough speed; the measured run is then sized to
# about --target seconds (default 4) of training after its first epoch, and its figure is
# the median epoch after the first. PyTorch runs add epochs until the same target is met.
# Everything runs under a time budget (--budget, default 500 s, from the start of this
# script); a run that fails or times out is reported with the end of its log, and the
# others go on.
#
# --quick: a tiny check (a few thousand samples, the wide model shrunk to 784-512-512-10 at
#          batch 256, target 0.5 s); --dry-run: unpack, detect and list the devices and the
#          planned runs, train nothing; --only LIST: only these runs, comma-separated
#          MODEL, SYSTEM or MODEL:SYSTEM (models a128 a1024 w1024; systems plexus-cpu
#          plexus-opencl plexus-opencl-tiled torch-cuda torch-cpu), or gemm for the GEMM
#          rates (plexus-device-gemm and torch.mm on the wide MLP's shapes, after the
#          wide runs; always part of a run without --only).
# Environment: OUT, BUNDLE (the archive), PYTHON, OPENCL_DEVICE (e.g. opencl:1, default: the
# first GPU), NVIDIA_OPENCL_LIB (the driver library, default: searched), KEEP=1 (keep the
# unpacked folder), TMPDIR.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
root=$PWD

quick=0
dry=0
only=${ONLY:-}
budget=${BUDGET:-}
target=${TARGET_SECONDS:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --dry-run) dry=1 ;;
    --budget) budget=$2; shift ;;
    --target) target=$2; shift ;;
    --only) only=$2; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$quick" = 1 ]; then
  budget=${budget:-300}; target=${target:-0.5}
else
  budget=${budget:-500}; target=${target:-4}
fi
bundle=${BUNDLE:-$root/gpu-bundle/plexus-bundle.tar.xz}
out=${OUT:-$root/gpu-out}
mkdir -p "$out" || exit 2
out=$(cd "$out" && pwd -P)
t0=$SECONDS

say() { printf '%s\n' "$*"; }
elapsed() { echo $((SECONDS - t0)); }
section() { printf '\n== %s (%s s)\n' "$*" "$(elapsed)"; }
# Seconds a run may take: CAP, or what is left of the budget less a reserve for the table.
time_left() {
  local cap=$1 left=$((budget - (SECONDS - t0) - 10))
  [ "$left" -lt "$cap" ] && cap=$left
  echo "$cap"
}
# Every call below is `timeout -k 5 SECONDS command...`; without coreutils timeout, no limit.
if ! command -v timeout >/dev/null; then timeout() { shift 3; "$@"; }; fi

main() {
  say "plexus GPU benchmark (issue 7)$([ "$quick" = 1 ] && echo ', QUICK check: tiny runs, figures mean nothing'): budget $budget s, target $target s per run, output $out"
  work=$(mktemp -d "${TMPDIR:-/tmp}/plexus-gpu.XXXXXX") || { say "run.sh: cannot make a temporary folder"; return 2; }
  chmod 700 "$work"
  [ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
  # The bundled loader must be executable from there: a noexec /tmp means the repository.
  cp /bin/true "$work/exec-check" 2>/dev/null
  if ! "$work/exec-check" 2>/dev/null; then
    rm -rf "$work"
    work=$(mktemp -d "$root/.gpu-work.XXXXXX") || { say "run.sh: cannot make a work folder"; return 2; }
    chmod 700 "$work"
    say "${TMPDIR:-/tmp} does not allow executing files: unpacking into $work"
  fi
  : > "$out/runs.jsonl"
  info="$out/info.tsv"
  : > "$info"
  note() { printf '%s\t%s\n' "$1" "$2" >> "$info"; }

  # ---------------------------------------------------------------- the host
  section "host"
  os=$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release 2>/dev/null)
  os=${os:-$(uname -s)}
  glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null || ldd --version 2>/dev/null | head -n 1)
  cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
  cpus=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)
  # A CPU quota (cgroup v2 cpu.max, v1 cfs_quota) caps what the CPU runs may use.
  quota=""
  if [ -r /sys/fs/cgroup/cpu.max ]; then
    read -r q p < /sys/fs/cgroup/cpu.max
    [ "$q" != max ] && quota=$(( (q + p - 1) / p ))
  elif [ -r /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
    q=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us); p=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)
    [ "$q" -gt 0 ] 2>/dev/null && quota=$(( (q + p - 1) / p ))
  fi
  [ -n "$quota" ] && [ "$quota" -gt 0 ] && [ "$quota" -lt "$cpus" ] && cpus=$quota
  say "$(uname -n): $os, $glibc, kernel $(uname -r)"
  say "CPU: ${cpu_model:-?}, $cpus usable cores (nproc $(nproc 2>/dev/null)${quota:+, cgroup quota $quota})"
  note "date" "$(date -u '+%Y-%m-%d %H:%M UTC')"
  note "host" "$(uname -n): $os, $glibc"
  note "CPU" "${cpu_model:-?}, $cpus cores used"
  gpu="none found (no nvidia-smi)"
  if command -v nvidia-smi >/dev/null; then
    timeout -k 5 60 nvidia-smi -L 2>&1 | head -n 8
    gpu=$(timeout -k 5 60 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)
    say "GPU: ${gpu:-?} (name, driver, memory)"
  else
    say "no nvidia-smi"
  fi
  note "GPU (name, driver, memory)" "${gpu:-?}"

  # ---------------------------------------------------------------- the bundle
  section "bundle"
  if [ ! -r "$bundle" ]; then
    say "run.sh: no bundle at $bundle: run bench/gpu/bundle.sh first and carry gpu-bundle"; return 2
  fi
  if command -v xz >/dev/null && tar -C "$work" -xJf "$bundle" 2>"$work/untar.err"; then
    say "unpacked $bundle with tar/xz"
  elif python3 -c "import tarfile, sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$bundle" "$work" 2>>"$work/untar.err"; then
    say "unpacked $bundle with python3's tarfile (no xz here)"
  else
    say "run.sh: cannot unpack $bundle:"; cat "$work/untar.err"; return 2
  fi
  B=$work/plexus-bundle
  DATA=$B/data
  sed -n '1,/^glibc:/p' "$B/MANIFEST.txt"
  cp "$B/MANIFEST.txt" "$out/MANIFEST.txt"
  note "bundle" "$(sed -n 's/^commit: //p' "$B/MANIFEST.txt" | cut -c1-12), made $(sed -n '1s/.*made \(.*\) on .*/\1/p' "$B/MANIFEST.txt")$(awk '/^uncommitted/ { f = 1; next } f && /^  / { n++ } f && !/^  / { exit } END { if (n) printf ", %d uncommitted changes (MANIFEST.txt)", n }' "$B/MANIFEST.txt")"

  # ---------------------------------------------------------------- OpenCL: the NVIDIA ICD
  section "OpenCL driver"
  nvlib=${NVIDIA_OPENCL_LIB:-}
  if [ -z "$nvlib" ]; then
    ldconfig_bin=$(command -v ldconfig || echo /sbin/ldconfig)
    nvlib=$("$ldconfig_bin" -p 2>/dev/null | awk '/libnvidia-opencl\.so/ && /x86-64/ { print $NF; exit }')
  fi
  if [ -z "$nvlib" ] || [ ! -e "$nvlib" ]; then
    nvlib=""
    for d in $(echo "${LD_LIBRARY_PATH:-}" | tr : " ") /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu \
             /lib/x86_64-linux-gnu /usr/lib64 /lib64 /usr/lib /usr/local/cuda/compat /usr/local/cuda/lib64 \
             /run/nvidia/driver/usr/lib/x86_64-linux-gnu; do
      for f in "$d"/libnvidia-opencl.so.1 "$d"/libnvidia-opencl.so.*; do
        if [ -e "$f" ]; then nvlib=$f; break 2; fi
      done
    done
  fi
  extra_libs=""
  if [ -n "$nvlib" ]; then
    mkdir -p "$work/vendors"
    echo "$nvlib" > "$work/vendors/nvidia.icd"
    export OCL_ICD_VENDORS="$work/vendors"
    extra_libs=$(dirname "$nvlib")
    # libcuda.so.1, which the OpenCL driver loads, may live elsewhere.
    cuda_lib=$("${ldconfig_bin:-/sbin/ldconfig}" -p 2>/dev/null | awk '/libcuda\.so\.1/ && /x86-64/ { print $NF; exit }')
    if [ -n "$cuda_lib" ] && [ "$(dirname "$cuda_lib")" != "$extra_libs" ]; then extra_libs="$extra_libs:$(dirname "$cuda_lib")"; fi
    say "NVIDIA OpenCL driver: $nvlib -> OCL_ICD_VENDORS=$work/vendors (nvidia.icd); driver folders on the library path: $extra_libs"
    note "OpenCL ICD" "$nvlib (generated nvidia.icd)"
  else
    host_icds=$(find /etc/OpenCL/vendors -name '*.icd' 2>/dev/null | tr '\n' ' ')
    say "no NVIDIA OpenCL library (libnvidia-opencl.so.*) found: opencl runs use whatever ICD this host has (${host_icds:-none in /etc/OpenCL/vendors}${OCL_ICD_VENDORS:+, OCL_ICD_VENDORS=$OCL_ICD_VENDORS})"
    note "OpenCL ICD" "no libnvidia-opencl found; host ICDs: ${host_icds:-none}"
  fi
  export XDG_CACHE_HOME="$work/cache"   # Plexus's kernel cache: fresh, shared by warm-up and measured runs
  export PLEXUS_PLUGIN_PATH="$B/lib/plexus/plugins"

  # ---------------------------------------------------------------- launching plexus
  section "plexus"
  # The bundled loader (whatever the host's glibc); the host's loader is the fallback.
  loader_cmd=("$B/glibc/ld-linux-x86-64.so.2" --library-path "$B/glibc:$B/lib${extra_libs:+:$extra_libs}" "$B/bin/plexus")
  host_cmd=(env "LD_LIBRARY_PATH=$B/lib${extra_libs:+:$extra_libs}" "$B/bin/plexus")
  PX=("${loader_cmd[@]}")
  mode="bundled glibc loader"
  if ! version=$("${PX[@]}" --version 2>&1); then
    say "the bundled loader fails: $version"
    PX=("${host_cmd[@]}"); mode="host loader, bundled libraries"
    version=$("${PX[@]}" --version 2>&1) || { say "run.sh: plexus does not start either way: $version"; plexus_ok=0; }
  fi
  plexus_ok=${plexus_ok:-1}
  devices() { timeout -k 5 120 "${PX[@]}" devices > "$out/devices.txt" 2>&1; }
  if [ "$plexus_ok" = 1 ]; then
    devices
    if [ -n "$nvlib" ] && ! grep -q '^opencl:[0-9]* *gpu' "$out/devices.txt" && [ "$mode" = "bundled glibc loader" ]; then
      say "no OpenCL GPU through the bundled loader:"; cat "$out/devices.txt"
      say "trying the host's loader with the bundled libraries"
      PX=("${host_cmd[@]}"); mode="host loader, bundled libraries"
      if ! "${PX[@]}" --version >/dev/null 2>&1 || ! devices || ! grep -q '^opencl:[0-9]* *gpu' "$out/devices.txt"; then
        PX=("${loader_cmd[@]}"); mode="bundled glibc loader"; devices
      fi
    fi
    say "$version; started through the $mode"
    cat "$out/devices.txt"
    # Where the C library, the ICD loader and the OpenCL driver really came from.
    LD_DEBUG=libs "${PX[@]}" devices > /dev/null 2> "$work/ld_debug.txt"
    awk -v b="$B/" '/calling init: / { pid = $1; lib = $NF; seen[pid] = seen[pid] "\n" lib; if (index(lib, b) == 1) mine[pid] = 1 }
         END { for (p in mine) print seen[p] }' "$work/ld_debug.txt" |
      grep -E '/(ld-linux-x86-64\.so\.2|libc\.so\.6|libOpenCL\.so\.1|libnvidia-opencl[^/]*|libcuda\.so[^/]*|libpocl\.so[^/]*)$' |
      sort -u | sed 's/^/  loaded: /'
    note "plexus" "$(echo "$version" | head -n 1), through the $mode"
  fi
  ocl=${OPENCL_DEVICE:-}
  if [ -z "$ocl" ] && [ "$plexus_ok" = 1 ]; then
    ocl=$(awk '$1 ~ /^opencl:/ && $2 == "gpu" { print $1; exit }' "$out/devices.txt")
    [ -z "$ocl" ] && ocl=$(awk '$1 ~ /^opencl:/ { print $1; exit }' "$out/devices.txt")
  fi
  if [ -n "$ocl" ]; then
    say "OpenCL runs on $ocl: $(awk -v d="$ocl" '$1 == d' "$out/devices.txt" | tr -s ' ')"
  else
    say "no OpenCL device: the opencl runs are skipped"
  fi

  # ---------------------------------------------------------------- PyTorch
  section "PyTorch"
  py=""
  torch_cuda=0
  for c in "${PYTHON:-}" python3 python /opt/conda/bin/python /usr/bin/python3 /usr/local/bin/python3; do
    if [ -z "$c" ] || ! command -v "$c" >/dev/null; then continue; fi
    if tinfo=$(timeout -k 5 120 "$c" -c 'import torch; c = torch.cuda.is_available(); print(torch.__version__, int(c), torch.cuda.get_device_name(0) if c else "-")' 2>/dev/null | tail -n 1) && [ -n "$tinfo" ]; then
      py=$c; break
    fi
  done
  report_py=$py
  if [ -z "$report_py" ]; then
    for c in python3 python /usr/bin/python3; do command -v "$c" >/dev/null && { report_py=$c; break; }; done
  fi
  if [ -n "$py" ]; then
    read -r torch_version torch_cuda torch_gpu <<< "$tinfo"
    say "$py: torch $torch_version, CUDA $([ "$torch_cuda" = 1 ] && echo "available: $torch_gpu" || echo "NOT available: the PyTorch CUDA runs are skipped")"
    note "PyTorch" "$py, torch $torch_version, CUDA $([ "$torch_cuda" = 1 ] && echo "on $torch_gpu" || echo "not available")"
  else
    say "no python with torch found (tried \$PYTHON, python3, python, /opt/conda/bin/python, /usr/bin/python3): the PyTorch runs are skipped"
    note "PyTorch" "not found"
  fi

  # ---------------------------------------------------------------- the runs
  runs=$work/runs
  mkdir -p "$runs" "$out/logs"
  if [ "$quick" = 1 ]; then
    full=2048; test_limit=500; warm_min=512; tiled_small=0
    wide_ini=$work/wide_quick.ini
    sed 's/units=4096/units=512/; s/^batch_size = .*/batch_size = 256/' bench/gpu/wide4096_adam.ini > "$wide_ini"
    wide_batch=256; wide_torch=(--hidden "512,512" --batch 256); cpu_wide_limit=1024; cpu_torch_limit=2048
  else
    full=60000; test_limit=2000; warm_min=2048; tiled_small=1
    wide_ini=bench/gpu/wide4096_adam.ini
    wide_batch=1024; wide_torch=(); cpu_wide_limit=8192; cpu_torch_limit=20480
  fi
  cpu_device="cpu"
  [ -n "$quota" ] && [ "$quota" = "$cpus" ] && cpu_device="cpu threads=$cpus"

  record() {  # record plexus|torch KEY SYSTEM STATUS LOG [RUN_DIR] [NOTE]
    if [ -n "$report_py" ]; then
      "$report_py" bench/gpu/report.py "$1" "$out/runs.jsonl" "${@:2}"
    else
      say "  $2 $3: $4 $(grep -m1 'training samples/s' "$5" 2>/dev/null)"
    fi
  }
  fail_tail() { say "  --- last lines of $(basename "$1"):"; tail -n 8 "$1" | sed 's/^/  | /'; }
  status_of() {
    case "$1" in
      0) echo ok ;;
      124|137) echo "timed out after $2 s" ;;
      *) echo "failed (exit $1)" ;;
    esac
  }
  epoch_seconds() {  # the 'seconds' column of RUN_DIR/history.csv
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "seconds") c = i; next } c { print $c }' "$1/history.csv" 2>/dev/null
  }

  # plexus_train ID INI BATCH DEVICE LIMIT EPOCHS SECONDS: one training run; sets run_dir, rc.
  plexus_train() {
    local id=$1 ini=$2 batch=$3 device=$4 limit=$5 epochs=$6 secs=$7
    local args=(train "$ini" --device "$device" --out "$runs/$id"
                --set "data.train=idx:$DATA/train" --set "data.test=idx:$DATA/t10k"
                --set "data.test_limit=$test_limit" --set "train.batch_size=$batch"
                --set "train.epochs=$epochs" --set train.verbose=0)
    [ "$limit" -lt 60000 ] && args+=(--set "data.train_limit=$limit")
    printf '$ plexus %s\n' "${args[*]}" > "$runs/$id.log"
    timeout -k 5 "$secs" "${PX[@]}" "${args[@]}" >> "$runs/$id.log" 2>&1
    rc=$?
    run_dir=$(find "$runs/$id" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -n 1)
    cp "$runs/$id.log" "$out/logs/"
    if [ -n "$run_dir" ]; then
      mkdir -p "$out/logs/$id"
      cp "$run_dir"/history.csv "$run_dir"/metrics.json "$run_dir"/experiment.ini "$out/logs/$id/" 2>/dev/null
      rm -f "$run_dir/model.safetensors"  # 80 MB for the wide model
    fi
  }

  # measure_plexus KEY SYSTEM DEVICE: warm-up, sizing, measured run, record.
  measure_plexus() {
    local key=$1 system=$2 device=$3 ini batch
    case "$key" in
      a128) ini=bench/models/mlp_adam.ini; batch=128 ;;
      a1024) ini=bench/models/mlp_adam.ini; batch=1024 ;;
      w1024) ini=$wide_ini; batch=$wide_batch ;;
    esac
    local id="$key-$system" secs
    if [ "$dry" = 1 ]; then say "  would run: $id: plexus train $ini --device '$device' (batch $batch)"; return; fi
    secs=$(time_left 150)
    if [ "$secs" -lt 15 ]; then record plexus "$key" "$system" "skipped (time budget)" /dev/null /nonexistent; return; fi
    # Warm-up: 2 epochs of a few batches; fills the kernel cache, gives a rough speed.
    local wl=$((4 * batch)) e2 sps_w plan limit epochs
    [ "$wl" -lt "$warm_min" ] && wl=$warm_min
    [ "$key" = w1024 ] && [ "$system" = plexus-cpu ] && [ "$wl" -gt "$cpu_wide_limit" ] && wl=$cpu_wide_limit
    plexus_train "$id-warmup" "$ini" "$batch" "$device" "$wl" 2 "$secs"
    e2=$(epoch_seconds "$run_dir" | sed -n 2p)
    if [ "$rc" != 0 ] || [ -z "$e2" ]; then
      say "  $id: the warm-up run $(status_of "$rc" "$secs")"; fail_tail "$runs/$id-warmup.log"
      record plexus "$key" "$system" "warm-up $(status_of "$rc" "$secs")" "$runs/$id-warmup.log" "${run_dir:-/nonexistent}"
      return
    fi
    sps_w=$(awk -v n="$wl" -v s="$e2" 'BEGIN { printf "%.0f", n / (s > 1e-6 ? s : 1e-6) }')
    secs=$(time_left 150)
    # Samples and epochs for about TARGET seconds after the first epoch, within the time left.
    local cap=$full
    [ "$key" = w1024 ] && [ "$system" = plexus-cpu ] && cap=$cpu_wide_limit
    plan=$(awk -v sps="$sps_w" -v T="$target" -v full="$cap" -v b="$batch" -v tmax="$secs" 'BEGIN {
      want = sps * T
      if (want >= 2 * full) { L = full; E = 1 + int((want + full - 1) / full) }
      else { L = int(want / 2 / b) * b; if (L < 2 * b) L = 2 * b; if (L > full) L = full; E = 3 }
      if (E > 100) E = 100
      while (E > 2 && E * L / sps * 1.5 + 10 > tmax) E--
      while (L > 2 * b && E * L / sps * 1.5 + 10 > tmax) { L = int(L / 2 / b) * b }
      print L, E }')
    read -r limit epochs <<< "$plan"
    say "  $id: warm-up $sps_w samples/s ($wl samples, 2nd epoch $e2 s) -> measuring $limit samples x $epochs epochs"
    plexus_train "$id" "$ini" "$batch" "$device" "$limit" "$epochs" "$secs"
    [ "$rc" = 0 ] || fail_tail "$runs/$id.log"
    record plexus "$key" "$system" "$(status_of "$rc" "$secs")" "$runs/$id.log" "${run_dir:-/nonexistent}" "after a warm-up run"
  }

  # measure_torch KEY SYSTEM: one PyTorch run on cuda or cpu.
  measure_torch() {
    local key=$1 system=$2 model args secs id="$1-$2"
    case "$key" in
      a128) model=a; args=() ;;
      a1024) model=a1024; args=() ;;
      w1024) model=w; args=("${wide_torch[@]}") ;;
    esac
    local limit=$full
    if [ "$system" = torch-cuda ]; then
      args+=(--device cuda)
    else
      args+=(--device cpu)  # a reference figure: fewer samples
      limit=$cpu_torch_limit
      [ "$key" = w1024 ] && limit=$cpu_wide_limit
    fi
    if [ "$dry" = 1 ]; then say "  would run: $id: $py bench/torch_mlp.py $model 3 ... ${args[*]}"; return; fi
    secs=$(time_left 150)
    if [ "$secs" -lt 20 ]; then record torch "$key" "$system" "skipped (time budget)" /dev/null; return; fi
    local threads=0
    [ "$system" = torch-cpu ] && threads=$cpus
    local cmd=("$py" bench/torch_mlp.py "$model" 3 "$threads" 1 "$DATA" "$limit" "${args[@]}"
               --min-seconds "$target" --max-epochs 100 --test-limit "$test_limit")
    printf '$ %s\n' "${cmd[*]}" > "$runs/$id.log"
    timeout -k 5 "$secs" "${cmd[@]}" >> "$runs/$id.log" 2>&1
    rc=$?
    cp "$runs/$id.log" "$out/logs/"
    [ "$rc" = 0 ] || fail_tail "$runs/$id.log"
    record torch "$key" "$system" "$(status_of "$rc" "$secs")" "$runs/$id.log"
  }

  skip() {  # skip KEY SYSTEM WHY
    [ "$dry" = 1 ] && { say "  skipped: $1-$2: $3"; return; }
    if [ "${2%%-*}" = plexus ]; then record plexus "$1" "$2" "skipped ($3)" /dev/null /nonexistent
    else record torch "$1" "$2" "skipped ($3)" /dev/null; fi
  }

  one() {  # one KEY SYSTEM
    local key=$1 system=$2
    if [ -n "$only" ] && ! [[ ",$only," == *",$key,"* || ",$only," == *",$system,"* || ",$only," == *",$key:$system,"* ]]; then
      return
    fi
    case "$system" in
      plexus-cpu)
        if [ "$plexus_ok" = 1 ]; then measure_plexus "$key" "$system" "$cpu_device"; else skip "$key" "$system" "plexus does not start"; fi ;;
      plexus-opencl|plexus-opencl-tiled)
        if [ "$plexus_ok" != 1 ] || [ -z "$ocl" ]; then skip "$key" "$system" "no OpenCL device"; return; fi
        local spec="opencl device=${ocl#opencl:}"
        [ "$system" = plexus-opencl-tiled ] && spec="$spec gemm=tiled"
        measure_plexus "$key" "$system" "$spec" ;;
      torch-cuda)
        if [ -z "$py" ]; then skip "$key" "$system" "no torch"
        elif [ "$torch_cuda" != 1 ]; then skip "$key" "$system" "torch has no CUDA"
        else measure_torch "$key" "$system"; fi ;;
      torch-cpu)
        if [ -z "$py" ]; then skip "$key" "$system" "no torch"; else measure_torch "$key" "$system"; fi ;;
    esac
  }

  # gemm_rates: GFLOP/s of Device::gemm on the wide MLP's step shapes (plexus-device-gemm)
  # for cpu, opencl (CLBlast) and our tiled kernel at both tile sizes, and of torch.mm on
  # CUDA, so that a training figure can be told apart into GEMM and the rest. Into gemm.md.
  gemm_rates() {
    if [ -n "$only" ] && [[ ",$only," != *",gemm,"* ]]; then return; fi
    local gx=("${PX[@]:0:${#PX[@]}-1}" "$B/bin/plexus-device-gemm") specs=() shapes=() secs
    local seconds=0.5
    [ "$quick" = 1 ] && { seconds=0.2; shapes=(NN:512x512x512 TN:512x512x256 NT:256x512x512); }
    if [ "$dry" = 1 ]; then say "  would run: plexus-device-gemm and bench/gpu/torch_gemm.py"; return; fi
    if [ "$plexus_ok" = 1 ]; then
      specs=(--device "$cpu_device")
      if [ -n "$ocl" ]; then
        local n=${ocl#opencl:}
        specs+=(--device "opencl device=$n" --device "opencl device=$n gemm=tiled"
                --device "opencl device=$n gemm=tiled gemm_tile=64")
      fi
      secs=$(time_left 120)
      if [ "$secs" -ge 20 ]; then
        timeout -k 5 "$secs" "${gx[@]}" --seconds "$seconds" "${specs[@]}" "${shapes[@]}" > "$out/gemm.md" 2> "$out/logs/gemm.log" ||
          { say "  plexus-device-gemm $(status_of $? "$secs")"; fail_tail "$out/logs/gemm.log"; }
        sed 's/^/  /' "$out/logs/gemm.log"
        cat "$out/gemm.md"
      fi
    fi
    if [ -n "$py" ] && [ "$torch_cuda" = 1 ]; then
      secs=$(time_left 60)
      if [ "$secs" -ge 20 ]; then
        timeout -k 5 "$secs" "$py" bench/gpu/torch_gemm.py --device cuda --seconds "$seconds" "${shapes[@]}" > "$out/gemm_torch.md" 2> "$out/logs/gemm_torch.log" ||
          { say "  torch_gemm.py $(status_of $? "$secs")"; fail_tail "$out/logs/gemm_torch.log"; }
        cat "$out/gemm_torch.md"
      fi
    fi
  }

  # The goal model first, so that a tight budget still measures it.
  section "runs"
  for s in plexus-opencl torch-cuda plexus-cpu plexus-opencl-tiled torch-cpu; do one w1024 "$s"; done
  gemm_rates
  for k in a1024 a128; do
    for s in plexus-opencl torch-cuda plexus-cpu torch-cpu; do one "$k" "$s"; done
  done
  if [ "$tiled_small" = 1 ]; then
    for k in a1024 a128; do one "$k" plexus-opencl-tiled; done
  fi
  [ "$dry" = 1 ] && { say "dry run: nothing trained"; return 0; }

  # ---------------------------------------------------------------- the table
  section "results"
  note "elapsed" "$(elapsed) s of a $budget s budget"
  note "method" "steady-state samples/s: samples per epoch / median seconds of the epochs after the first (epoch 1 = warm-up: kernel builds, CLBlast's per-process compilation, CUDA start-up); each Plexus run follows an uncounted warm-up run (2 epochs, a few batches) that filled the kernel cache and sized it to about $target s; PyTorch: preloaded tensors, loss.item() every step, FP32 (TF32 off unless the run says otherwise)"
  if [ -n "$report_py" ]; then
    "$report_py" bench/gpu/report.py table "$out/runs.jsonl" "$info" "$out" || say "run.sh: the table failed (runs.jsonl has the records)"
  else
    say "no python: no table; the logs are in $out/logs"
    grep -H 'training samples/s' "$out"/logs/*.log
  fi
  if [ -s "$out/gemm.md" ] || [ -s "$out/gemm_torch.md" ]; then
    { printf '\n## GEMM GFLOP/s (FP32, best of three windows)\n\n'
      [ -s "$out/gemm.md" ] && cat "$out/gemm.md" && echo
      [ -s "$out/gemm_torch.md" ] && cat "$out/gemm_torch.md"; } >> "$out/results.md"
  fi
  say "done in $(elapsed) s; files in $out"
}

main 2>&1 | tee "$out/run.log"
exit "${PIPESTATUS[0]}"
