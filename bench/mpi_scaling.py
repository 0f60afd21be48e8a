#!/usr/bin/env python3
"""The scaling model of bench/README.md ("MPI"): predicted speed-up of synchronous
data-parallel training (mpirun -np N plexus train, global batch fixed) over one process,
with the gradient sum after backward (train.overlap_allreduce = false) and overlapped with
it in buckets (the default).

After backward, one allreduce of all S bytes:

    T(N) = T_compute / N + 2 S / B_mem + C(S, 1) + log2(N) * 2 alpha
    C(s, k) = 2 (N-1)/N * s / B_net + k * 2 log2(N) * alpha

T_compute: one process's step on the whole batch; S: the gradient bytes of the fused buffer;
2 S / B_mem: the copy to the MPI buffer and back (B_mem = 10 GB/s); C(s, k): k allreduces of s
bytes in all, each Rabenseifner's (reduce-scatter by recursive halving, allgather by
doubling: a ring's 2 (N-1)/N * s per rank, in 2 log2(N) steps of latency alpha; a ring would
take 2 (N-1) latencies per call, which buckets multiply); the last term is the 16-byte
allreduce of the ranks' stop decisions after every step (recursive doubling, log2(N)
exchanges).

Overlapped: the fraction f of the bytes whose buckets are complete before the first layer's
backward (reverse layer order, 1 MiB buckets) is summed while the rest of backward runs, a
fraction r of the step's compute; the last buckets wait for backward's end:

    T(N) = T_compute / N + 2 S / B_mem + max(0, C(f S, k1) - r T_compute / N)
           + C((1-f) S, k2) + log2(N) * 2 alpha

k1, k2: the buckets of each part (ceil of its bytes over 1 MiB: train.bucket_bytes=1048576;
the default's first 1 MiB then 25 MiB leaves (c)'s big layer to after backward). It assumes a started sum
progresses on its own (hardware collective offload, or an MPI progress thread); otherwise MPI
progresses only inside the trainer's MPI calls, between layers, and a long first layer stalls
it (bench/README.md, run D).
Strong scaling: every rank's share of the batch shrinks with N, and a GEMM on a share of a
few rows runs far below its full-batch speed, so these are upper bounds.

    bench/mpi_scaling.py [--compute-ms a=1.87,c=148,d=37] [--mb a=0.94,c=23.30,d=1.69]
                         [--overlap a=0:0,c=0.72:0.10,d=0.62:0.60] [--bucket-mb 1.048576]
"""
import argparse
import math

NETWORKS = {"10 GbE": (1.1e9, 30e-6), "100 Gb InfiniBand": (11e9, 2e-6)}
B_MEM = 10e9
RANKS = [2, 4, 8, 16, 32, 64]


def pairs(text):
    return {k: v for k, v in (p.split("=") for p in text.split(","))}


def allreduce(size, calls, n, bandwidth, alpha):
    return 2 * (n - 1) / n * size / bandwidth + calls * 2 * math.log2(n) * alpha


def buckets(size, n, bandwidth, alpha, bucket):
    return allreduce(size, math.ceil(size / bucket), n, bandwidth, alpha) if size > 0 else 0.0


def step_seconds(compute, size, n, bandwidth, alpha, overlap=None, bucket=None):
    fixed = compute / n + 2 * size / B_MEM + math.log2(n) * 2 * alpha
    if overlap is None:
        return fixed + allreduce(size, 1, n, bandwidth, alpha)
    early, rest = overlap
    hidden = buckets(early * size, n, bandwidth, alpha, bucket)
    return (fixed + max(0.0, hidden - rest * compute / n)
            + buckets((1 - early) * size, n, bandwidth, alpha, bucket))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--compute-ms", default="a=1.87,c=148,d=37")
    p.add_argument("--mb", default="a=0.94,c=23.30,d=1.69")
    p.add_argument("--overlap", default="a=0:0,c=0.72:0.10,d=0.62:0.60",
                   help="per model f:r, the bytes' fraction summed early and the compute's "
                        "fraction left to hide it")
    p.add_argument("--bucket-mb", type=float, default=1.048576)
    a = p.parse_args()
    compute = {k: float(v) for k, v in pairs(a.compute_ms).items()}
    size = {k: float(v) for k, v in pairs(a.mb).items()}
    overlap = {k: tuple(float(x) for x in v.split(":")) for k, v in pairs(a.overlap).items()}
    print("| model | network | allreduce | " + " | ".join(f"N={n}" for n in RANKS) + " | best N |")
    print("|---|---|---|" + "---|" * (len(RANKS) + 1))
    for m in compute:
        t1, s = compute[m] / 1e3, size[m] * 1e6
        for net, (bw, alpha) in NETWORKS.items():
            for how, ov in (("after backward", None), ("overlapped", overlap.get(m, (0.0, 0.0)))):
                speed = [t1 / step_seconds(t1, s, n, bw, alpha, ov, a.bucket_mb * 1e6)
                         for n in RANKS]
                best = RANKS[max(range(len(RANKS)), key=lambda i: speed[i])]
                print(f"| ({m}) | {net} | {how} | " + " | ".join(f"{x:.1f}×" for x in speed)
                      + f" | {best} |")


if __name__ == "__main__":
    main()
