#!/bin/sh
# Builds the libFuzzer targets of docs/fuzzing.md with Debian's clang, outside CI. Each target
# compiles the parser sources it fuzzes itself, instrumented for coverage and with ASan +
# UBSan, so libFuzzer follows the parsers' branches; everything else comes from an existing
# build's libplexus_core.so (GCC's; both use libstdc++).
#   tests/fuzz/libfuzzer/build.sh [BUILD_DIR]       default build/release; output BUILD_DIR/libfuzzer
set -eu
src=$(cd "$(dirname "$0")/../../.." && pwd)
build=$(cd "${1:-$src/build/release}" && pwd)
out=$build/libfuzzer
mkdir -p "$out"
command -v clang++ >/dev/null || { echo "build.sh: clang++ not found (apt-get install clang)" >&2; exit 2; }
[ -f "$build/lib/libplexus_core.so" ] || { echo "build.sh: no $build/lib/libplexus_core.so: build Plexus first" >&2; exit 2; }

core=$src/core/src
target() {
  name=$1
  shift
  # shellcheck disable=SC2086  # one word each
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -DBOOST_DLL_USE_STD_FS \
    -I"$src/sdk/include" -I"$src/core/include" -isystem /usr/include/stb \
    "$src/tests/fuzz/libfuzzer/fuzz_$name.cpp" "$@" \
    -L"$build/lib" -Wl,-rpath,"$build/lib" -lplexus_core -lboost_program_options -lfmt -lz \
    -o "$out/fuzz_$name"
  echo "$out/fuzz_$name"
}
target safetensors "$core/modelfile/safetensors.cpp" "$core/modelfile/model_card.cpp"
target experiment "$core/experiment/experiment.cpp" "$core/experiment/keys.cpp" "$core/experiment/settings.cpp"
target readers "$core/data/readers/csv.cpp" "$core/data/readers/idx.cpp" "$core/data/readers/npy.cpp" \
  "$core/data/readers/series.cpp"
target study "$core/study/study_file.cpp" "$core/study/placeholders.cpp"
