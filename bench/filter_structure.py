#!/usr/bin/env python3
"""How much structure the first convolution's filters have (bench/README.md, model (d)).

    /usr/bin/python3 bench/filter_structure.py RUN_DIR_OR_MODEL [--png FILE]

Edges and blobs are smooth: most of a filter's energy (its mean removed) sits in the low
spatial frequencies, while a filter that is still its random initialisation spreads its energy
evenly. For every filter of the first 4-D kernel in model.safetensors (channels averaged) this
prints the share of energy in the DCT coefficients with u + v <= max(1, k // 2), against the
same share for 2,000 Gaussian random k x k filters; "above random's 90th percentile" is the
fraction of trained filters more structured than 90 % of random ones. --png draws the filters
(needs python3-pil), each scaled to its own largest magnitude as the report does.
"""
import argparse
import json
import pathlib
import struct
import sys

import numpy as np


def first_kernel(path):
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / "model.safetensors"
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    kernels = [(k, v) for k, v in header.items()
               if k != "__metadata__" and len(v["shape"]) == 4 and v["dtype"] == "F32"]
    if not kernels:
        sys.exit(f"{path}: no 4-D float kernel (is this a CNN's model?)")
    # The layer with the lowest index is the first convolution ("layer0.kernel").
    name, t = min(kernels, key=lambda kv: int("".join(c for c in kv[0].split(".")[0] if c.isdigit()) or 0))
    begin, end = t["data_offsets"]
    w = np.frombuffer(raw[8 + n + begin:8 + n + end], dtype=np.float32).reshape(t["shape"])
    return name, w.mean(axis=1)  # [filters, kh, kw]


def dct_matrix(k):
    d = np.array([[np.cos(np.pi * (2 * j + 1) * u / (2 * k)) for j in range(k)] for u in range(k)])
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def low_share(f):
    k = f.shape[0]
    d = dct_matrix(k)
    c = d @ f @ d.T
    c[0, 0] = 0.0  # the mean says nothing about structure
    e = c ** 2
    u, v = np.meshgrid(range(k), range(k), indexing="ij")
    total = e.sum()
    return float(e[(u + v) <= max(1, k // 2)].sum() / total) if total > 0 else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="a run folder or a model.safetensors")
    ap.add_argument("--png", help="also draw the filters into this PNG")
    a = ap.parse_args()
    name, w = first_kernel(a.model)
    if w.shape[1] != w.shape[2]:
        sys.exit(f"{name}: {w.shape[1]}x{w.shape[2]} kernels; this measure takes square ones")
    trained = np.array([low_share(f) for f in w])
    rng = np.random.default_rng(0)
    random = np.array([low_share(rng.normal(size=w.shape[1:])) for _ in range(2000)])
    p90 = np.quantile(random, 0.9)
    print(f"{name}: {len(w)} filters {w.shape[1]}x{w.shape[2]}; low-frequency share "
          f"{trained.mean():.3f} (median {np.median(trained):.3f}) against random "
          f"{random.mean():.3f}; above random's 90th percentile: {(trained > p90).mean():.2f}")
    if a.png:
        from PIL import Image
        tiles = [np.kron(0.5 + 0.5 * f / (np.abs(f).max() + 1e-12), np.ones((12, 12))) for f in w]
        rows = [np.hstack([np.pad(t, 2, constant_values=1) for t in tiles[i:i + 8]])
                for i in range(0, len(tiles), 8)]
        width = max(r.shape[1] for r in rows)
        rows = [np.pad(r, ((0, 0), (0, width - r.shape[1])), constant_values=1) for r in rows]
        Image.fromarray((np.vstack(rows) * 255).astype(np.uint8)).save(a.png)


if __name__ == "__main__":
    main()
