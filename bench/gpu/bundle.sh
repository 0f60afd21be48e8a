#!/usr/bin/env bash
# Packs Plexus for a machine that has no build tools, no Debian packages and maybe an older
# glibc: one archive, gpu-bundle/plexus-bundle.tar.xz, holding
#
#   plexus-bundle/bin/plexus                 the release binary (and plexus-device-gemm)
#   plexus-bundle/lib/                       libplexus_core and every shared library that the
#                                            binary and the plugins need (ldd's closure:
#                                            OpenBLAS, CLBlast, the ocl-icd loader
#                                            libOpenCL.so.1, boost, libstdc++, libgfortran, ...)
#   plexus-bundle/lib/plexus/plugins/        every plugin
#   plexus-bundle/glibc/                     glibc itself and its loader ld-linux-x86-64.so.2
#   plexus-bundle/data/                      Fashion-MNIST, raw IDX files (xz packs them
#                                            smaller than their .gz)
#   plexus-bundle/plexus                     wrapper: runs bin/plexus through glibc/ld-linux
#   plexus-bundle/MANIFEST.txt               commit, dirty files, every library and its package
#
# and gpu-bundle/MANIFEST.txt beside it (a copy). bench/gpu/run.sh unpacks and uses it.
#
#   bench/gpu/bundle.sh
#
# Builds the release preset first (.ci/quickstart build, idempotent); SKIP_BUILD=1 packs
# build/release as it is. Fails when the archive plus the working tree (what the device tool
# copies) exceed LIMIT_MIB (default 60) MiB. Other settings: BUNDLE_DIR (gpu-bundle),
# DATA_DIR (/usr/share/datasets/fashion-mnist), XZ_LEVEL (-9).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
dest=${BUNDLE_DIR:-gpu-bundle}
data=${DATA_DIR:-/usr/share/datasets/fashion-mnist}
limit_mib=${LIMIT_MIB:-60}
build=build/release

for tool in ldd xz tar; do
  command -v "$tool" >/dev/null || { echo "bundle: $tool is missing" >&2; exit 2; }
done
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "bundle: building the release preset (.ci/quickstart build)"
  nice -n 19 .ci/quickstart build
fi
[ -x "$build/bin/plexus" ] || { echo "bundle: $build/bin/plexus is not built" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/plexus-bundle
mkdir -p "$stage/bin" "$stage/lib/plexus/plugins" "$stage/glibc" "$stage/data"

[ -x "$build/bin/plexus-device-gemm" ] || { echo "bundle: $build/bin/plexus-device-gemm is not built" >&2; exit 2; }
cp "$build/bin/plexus" "$build/bin/plexus-device-gemm" "$stage/bin/"
cp "$build"/lib/plexus/plugins/libplexus-*.so "$stage/lib/plexus/plugins/"
objects=("$build/bin/plexus" "$build/bin/plexus-device-gemm" "$build"/lib/plexus/plugins/libplexus-*.so)

# glibc's own libraries go to glibc/, everything else to lib/ (so that lib/ alone also
# works with the host's loader and glibc, when they are new enough).
is_glibc() {
  case "$1" in
    ld-linux*.so.*|libc.so.*|libm.so.*|libmvec.so.*|libdl.so.*|libpthread.so.*|librt.so.*|\
    libresolv.so.*|libutil.so.*|libanl.so.*|libnsl.so.*|libnss_*.so.*|libBrokenLocale.so.*|\
    libc_malloc_debug.so.*|libthread_db.so.*) return 0 ;;
  esac
  return 1
}

# Every library of ldd's closure, copied under its soname (the name the loader looks for).
declare -A source_of=()
for obj in "${objects[@]}"; do
  while read -r name arrow path _; do
    [ "$arrow" = "=>" ] || continue
    case "$path" in
      /*) ;;
      *) echo "bundle: $obj needs $name, which ldd cannot find" >&2; exit 1 ;;
    esac
    source_of[$name]=$path
  done < <(ldd "$obj")
done
libc_dir=$(dirname "${source_of[libc.so.6]}")
for name in "${!source_of[@]}"; do
  if is_glibc "$name"; then cp -L "${source_of[$name]}" "$stage/glibc/$name"
  else cp -L "${source_of[$name]}" "$stage/lib/$name"; fi
done
# All of glibc's runtime libraries, not only those Plexus links: an OpenCL driver loaded
# at run time (libnvidia-opencl, libcuda) needs libdl, librt, libpthread, ... and must get
# them from the same glibc as the loader.
for f in "$libc_dir"/{ld-linux-x86-64,libBrokenLocale,libanl,libc,libc_malloc_debug,libdl,libm,libmvec,libnsl,libnss_compat,libnss_dns,libnss_files,libnss_hesiod,libpthread,libresolv,librt,libthread_db,libutil}.so.[0-9]; do
  if [ -e "$f" ]; then cp -L "$f" "$stage/glibc/"; fi
done
[ -e "$stage/glibc/ld-linux-x86-64.so.2" ] || cp -L /lib64/ld-linux-x86-64.so.2 "$stage/glibc/"

# The libraries must all resolve inside the bundle through its own loader.
libpath="$stage/glibc:$stage/lib"
for obj in "$stage/bin/plexus" "$stage/bin/plexus-device-gemm" "$stage"/lib/plexus/plugins/*.so; do
  if ! out=$(env -i "$stage/glibc/ld-linux-x86-64.so.2" --library-path "$libpath" --list "$obj" 2>&1); then
    echo "bundle: $obj does not load through the bundled loader:" >&2; echo "$out" >&2; exit 1
  fi
  outside=$(echo "$out" | awk '$2 == "=>" && index($3, "'"$stage"'/") != 1 && $3 !~ /^\(/ { print "  " $1 " => " $3 }')
  if [ -n "$outside" ]; then
    echo "bundle: $obj resolves libraries outside the bundle:" >&2; echo "$outside" >&2; exit 1
  fi
done

# The wrapper. With an explicit loader /proc/self/exe is the loader (glibc/ld-linux...), so
# plexus's default plugin folder <exe>/../lib/plexus/plugins is lib/plexus/plugins either
# way; PLEXUS_PLUGIN_PATH names it too (the registry skips a folder seen twice).
# --library-path replaces LD_LIBRARY_PATH; PLEXUS_BUNDLE_LIBS adds folders after the
# bundle's own (run.sh puts the NVIDIA driver's folder there).
cat > "$stage/plexus" <<'EOF'
#!/bin/sh
# Runs the bundled plexus through the bundled glibc loader, whatever the host's glibc.
d=$(cd "$(dirname "$0")" && pwd -P)
PLEXUS_PLUGIN_PATH="$d/lib/plexus/plugins${PLEXUS_PLUGIN_PATH:+:$PLEXUS_PLUGIN_PATH}"
export PLEXUS_PLUGIN_PATH
exec "$d/glibc/ld-linux-x86-64.so.2" --library-path "$d/glibc:$d/lib${PLEXUS_BUNDLE_LIBS:+:$PLEXUS_BUNDLE_LIBS}" "$d/bin/plexus" "$@"
EOF
chmod 755 "$stage/plexus"
chmod -R go-w "$stage"

# Fashion-MNIST, decompressed (xz packs raw IDX better than gzip did).
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  if [ -e "$data/$f.gz" ]; then gzip -dc "$data/$f.gz" > "$stage/data/$f"
  elif [ -e "$data/$f" ]; then cp "$data/$f" "$stage/data/$f"
  else echo "bundle: $data/$f(.gz) is missing (apt-get install dataset-fashion-mnist)" >&2; exit 1; fi
done

# Smoke test: every plugin loads and the data reads, in an empty environment.
if ! env -i "$stage/plexus" plugins > "$tmp/plugins.txt" 2>&1; then
  echo "bundle: the bundled plexus fails to list its plugins:" >&2; tail -n 20 "$tmp/plugins.txt" >&2; exit 1
fi
if grep -q "plugin error" "$tmp/plugins.txt"; then
  echo "bundle: plugin errors:" >&2; grep "plugin error" "$tmp/plugins.txt" >&2; exit 1
fi
expected=$(find "$stage/lib/plexus/plugins" -name 'libplexus-*.so' | wc -l)
found=$(grep -o 'libplexus-[A-Za-z0-9_.-]*\.so' "$tmp/plugins.txt" | sort -u | wc -l)
if [ "$found" -ne "$expected" ]; then
  echo "bundle: $found of $expected plugin libraries found by the bundled plexus" >&2; exit 1
fi

{
  echo "plexus GPU bundle, made $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -n)"
  echo "commit: $(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "uncommitted changes (git status --short):"
  git -C "$root" status --short 2>/dev/null | sed 's/^/  /'
  echo "glibc: $(ldd --version | head -n 1)"
  "$stage/plexus" --version 2>&1 | head -n 1
  echo "libraries (soname <- file [package]):"
  for name in $(printf '%s\n' "${!source_of[@]}" | sort); do
    src=$(readlink -f "${source_of[$name]}")
    pkg=$(dpkg -S "$src" 2>/dev/null | head -n 1 | cut -d: -f1-2 || true)
    ver=""
    [ -n "$pkg" ] && ver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
    echo "  $name <- $src${pkg:+ [$pkg $ver]}"
  done
  echo "data: Fashion-MNIST from $data, complete (60000 train, 10000 test), raw IDX"
  echo "files:"
  (cd "$stage" && find . -type f -printf '  %p %s\n' | sort)
} > "$stage/MANIFEST.txt"

mkdir -p "$dest"
rm -f "$dest/plexus-bundle.tar.xz" "$dest/MANIFEST.txt"
echo "bundle: compressing (xz ${XZ_LEVEL:--9}, about a minute)"
tar -C "$tmp" --owner=0 --group=0 -cf - plexus-bundle | nice -n 19 xz -T0 "${XZ_LEVEL:--9}" > "$dest/plexus-bundle.tar.xz.part"
mv "$dest/plexus-bundle.tar.xz.part" "$dest/plexus-bundle.tar.xz"
cp "$stage/MANIFEST.txt" "$dest/MANIFEST.txt"

# What the device tool carries: the working tree (tracked and untracked, not ignored files)
# plus the carried folder.
archive=$(stat -c %s "$dest/plexus-bundle.tar.xz")
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
carried=$(du -sb "$dest" | cut -f1)
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "bundle: $dest/plexus-bundle.tar.xz $(mib "$archive") (unpacked $(mib "$(du -sb "$stage" | cut -f1)")); working tree $(mib "$tree"); carried folder $(mib "$carried"); .git $(mib "$(du -sb .git | cut -f1)") (if it travels too)"
total=$((tree + carried))
if [ "$total" -gt $((limit_mib * 1048576)) ]; then
  echo "bundle: working tree + $dest = $(mib "$total"), over the $limit_mib MiB limit" >&2
  exit 1
fi
echo "bundle: working tree + $dest = $(mib "$total") (limit $limit_mib MiB). On the GPU machine: bash bench/gpu/run.sh, carry [\"$dest\"]"
