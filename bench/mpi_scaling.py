#!/usr/bin/env python3
"""The scaling model of bench/README.md ("MPI"): predicted speed-up of synchronous
data-parallel training (mpirun -np N plexus train, global batch fixed) over one process.

    T(N) = T_compute / N + 2 S / B_mem + 2 (N-1)/N * S / B_net + 2 (N-1) * alpha
           + log2(N) * 2 alpha

T_compute: one process's step on the whole batch; S: the gradient bytes of the fused
allreduce; 2 S / B_mem: the copy to the MPI buffer and back (B_mem = 10 GB/s); a ring
allreduce moves 2 (N-1)/N * S per rank in 2 (N-1) messages of latency alpha; the last term is
the 16-byte allreduce of the ranks' stop decisions after every step (recursive doubling,
log2(N) exchanges). Strong scaling:
every rank's share of the batch shrinks with N, and a GEMM on a share of a few rows runs far
below its full-batch speed, so these are upper bounds; compute is assumed not to overlap
the allreduce (the trainer reduces after backward).

    bench/mpi_scaling.py [--compute-ms a=1.87,c=148,d=37] [--mb a=0.94,c=23.30,d=1.69]
"""
import argparse
import math

NETWORKS = {"10 GbE": (1.1e9, 30e-6), "100 Gb InfiniBand": (11e9, 2e-6)}
B_MEM = 10e9
RANKS = [2, 4, 8, 16, 32, 64]


def pairs(text):
    return {k: float(v) for k, v in (p.split("=") for p in text.split(","))}


def step_seconds(compute, size, n, bandwidth, alpha):
    return (compute / n + 2 * size / B_MEM + 2 * (n - 1) / n * size / bandwidth
            + 2 * (n - 1) * alpha + math.log2(n) * 2 * alpha)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--compute-ms", default="a=1.87,c=148,d=37")
    p.add_argument("--mb", default="a=0.94,c=23.30,d=1.69")
    a = p.parse_args()
    compute, size = pairs(a.compute_ms), pairs(a.mb)
    print("| model | network | " + " | ".join(f"N={n}" for n in RANKS) + " | best N |")
    print("|---|---|" + "---|" * (len(RANKS) + 1))
    for m in compute:
        t1, s = compute[m] / 1e3, size[m] * 1e6
        for net, (bw, alpha) in NETWORKS.items():
            speed = [t1 / step_seconds(t1, s, n, bw, alpha) for n in RANKS]
            best = RANKS[max(range(len(RANKS)), key=lambda i: speed[i])]
            print(f"| ({m}) | {net} | " + " | ".join(f"{x:.1f}×" for x in speed) + f" | {best} |")


if __name__ == "__main__":
    main()
