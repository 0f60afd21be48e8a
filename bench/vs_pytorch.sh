#!/usr/bin/env bash
# Plexus against PyTorch on this CPU in one run (bench/README.md). Installs what is missing
# (the quick start's packages, plus python3-torch and GNU time), builds the release preset,
# then runs bench/vs_pytorch.py with the arguments given.
#
#   bench/vs_pytorch.sh [--repeats 3] [--epochs 5] [--models abc] [--json FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRA_PACKAGES="python3-torch time" .ci/quickstart build
exec /usr/bin/python3 bench/vs_pytorch.py "$@"
