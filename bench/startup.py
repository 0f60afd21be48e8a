#!/usr/bin/env python3
"""Start-up time of `plexus` commands that load plugins (issue 17's goal: `plexus plugins`
warm under 50 ms).

    bench/startup.py [--plexus build/release/bin/plexus] [--baseline OTHER/bin/plexus] [--runs 30]

Each command runs --runs times with a private XDG_CACHE_HOME: "cold" empties it before every
run (the plugin scanner forks and every library is loaded, then the scan cache and plugin
catalog are written), "warm" keeps it (the catalog stands in for the libraries until a
component is made). With --baseline, the two binaries alternate run by run, so the ratio holds
on a host whose speed drifts. Prints the median and the range in milliseconds.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

COMMANDS = [
    ("plexus --version", ["--version"], "warm"),
    ("plexus plugins", ["plugins"], "warm"),
    ("plexus plugins dense", ["plugins", "dense"], "warm"),
    ("plexus devices", ["devices"], "warm"),
    ("plexus plugins, cold cache", ["plugins"], "cold"),
]


def time_once(binary, args, cache):
    env = dict(os.environ, XDG_CACHE_HOME=str(cache))
    t0 = time.perf_counter()
    subprocess.run([binary] + args, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def main():
    here = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plexus", default=str(here / "build/release/bin/plexus"))
    ap.add_argument("--baseline", help="another plexus binary, timed alternately")
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    binaries = [("plexus", args.plexus)] + ([("baseline", args.baseline)] if args.baseline else [])

    with tempfile.TemporaryDirectory(prefix="plexus-startup-") as tmp:
        caches = {name: Path(tmp) / name for name, _ in binaries}
        print(f"{'command':<30} " + " ".join(f"{name + ' ms (range)':>24}" for name, _ in binaries)
              + ("   ratio" if args.baseline else ""))
        for label, cmd, mode in COMMANDS:
            times = {name: [] for name, _ in binaries}
            for name, binary in binaries:  # a warm-up each, which also fills the warm cache
                time_once(binary, cmd, caches[name])
            for _ in range(args.runs):
                for name, binary in binaries:
                    if mode == "cold":
                        shutil.rmtree(caches[name], ignore_errors=True)
                    times[name].append(time_once(binary, cmd, caches[name]))
            cells = []
            for name, _ in binaries:
                t = [1000 * v for v in times[name]]
                cells.append(f"{statistics.median(t):8.1f} ({min(t):.1f}–{max(t):.1f})")
            line = f"{label:<30} " + " ".join(f"{c:>24}" for c in cells)
            if args.baseline:
                line += f"   {statistics.median(times['baseline']) / statistics.median(times['plexus']):.2f}×"
            print(line, flush=True)


if __name__ == "__main__":
    main()
