#!/usr/bin/python3
"""PyTorch's GEMM GFLOP/s on the shapes plexus-device-gemm times (bench/device_gemm.cpp), for
bench/gpu/run.sh: one training step of the wide MLP 784-4096-4096-10 at batch 1024 and the
4096^3 square, FP32 (TF32 off), best of three windows, synchronized before every clock
reading.

    python3 bench/gpu/torch_gemm.py [--device cuda|cpu] [--seconds S] [OP:MxNxK ...]

Prints a Markdown table with one column, like plexus-device-gemm's.
"""
import argparse
import time

import torch

WIDE_STEP = ["NN:1024x4096x784", "NN:1024x4096x4096", "NN:1024x10x4096",
             "TN:4096x10x1024", "NT:1024x4096x10", "TN:4096x4096x1024",
             "NT:1024x4096x4096", "TN:784x4096x1024"]


def operands(shape, device):
    op, dims = shape.split(":")
    m, n, k = (int(v) for v in dims.split("x"))
    a = torch.full((k, m) if op[0] == "T" else (m, k), 0.5, device=device)
    b = torch.full((n, k) if op[1] == "T" else (k, n), 0.25, device=device)
    a = a.t() if op[0] == "T" else a
    b = b.t() if op[1] == "T" else b
    return a, b, torch.empty((m, n), device=device), 2.0 * m * n * k


def gflops(body, flops, seconds, sync):
    body()
    body()
    sync()
    best = 0.0
    for _ in range(3):
        calls, t0 = 0, time.perf_counter()
        while True:
            body()
            calls += 1
            sync()
            elapsed = time.perf_counter() - t0
            if elapsed >= seconds / 3:
                break
        best = max(best, calls * flops / elapsed / 1e9)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("shapes", nargs="*")
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    step = not args.shapes
    shapes = args.shapes or WIDE_STEP
    ops = [operands(s, args.device) for s in shapes]
    rows = []
    for shape, (a, b, c, flops) in zip(shapes, ops):
        rows.append((shape, gflops(lambda: torch.mm(a, b, out=c), flops, args.seconds, sync)))

    def sequence():
        for a, b, c, _ in ops:
            torch.mm(a, b, out=c)
    rows.append(("the wide MLP's step" if step else "all, in sequence",
                 gflops(sequence, sum(o[3] for o in ops), 3 * args.seconds, sync)))
    if step:
        a, b, c, flops = operands("NN:4096x4096x4096", args.device)
        rows.append(("NN:4096x4096x4096", gflops(lambda: torch.mm(a, b, out=c), flops, args.seconds, sync)))
    print(f"| shape | torch {args.device} {torch.__version__} |\n|---|---|")
    for shape, value in rows:
        print(f"| {shape} | {value:.0f} |")


if __name__ == "__main__":
    main()
