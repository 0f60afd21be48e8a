#!/usr/bin/env bash
# Plexus against PyTorch on this CPU in one run (bench/README.md). Installs what is missing
# (the quick start's packages, plus python3-torch and GNU time), builds the release preset,
# then runs bench/vs_pytorch.py with the arguments given.
#
#   bench/vs_pytorch.sh [--repeats 3] [--epochs 5] [--models abc] [--json FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
.ci/quickstart build
missing=()
for p in python3-torch time; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "vs_pytorch: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
exec /usr/bin/python3 bench/vs_pytorch.py "$@"
