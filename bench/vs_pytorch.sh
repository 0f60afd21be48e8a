#!/usr/bin/env bash
# Plexus against PyTorch on this CPU in one run (bench/README.md): installs what is missing
# (python3-torch among it), builds the release preset, then runs bench/vs_pytorch.py.
#
#   bench/vs_pytorch.sh [--repeats 3] [--epochs 5] [--models abc] [--json FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
exec .ci/quickstart bench "$@"
