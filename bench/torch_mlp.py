#!/usr/bin/python3
"""PyTorch side of bench/vs_pytorch.py: trains one benchmark model on Fashion-MNIST and prints
one JSON line with per-epoch seconds, inference samples/s and test accuracy.

Tensors are preloaded (pixels scaled to [0, 1]) and batched by hand, no DataLoader; the
initialization scheme is Plexus's (he_normal hidden layers, glorot_uniform output, zero
biases) and batchnorm uses Plexus's defaults (epsilon 1e-3, running-average weight 0.99).

    /usr/bin/python3 bench/torch_mlp.py MODEL EPOCHS THREADS SEED [DATA_DIR [TRAIN_LIMIT]]

MODEL is a (784-256-128-10, batch 128), b (a + batchnorm + dropout 0.3) or c
(784-2048-2048-10, batch 512); all train with Adam lr 0.001.
"""
import gzip
import json
import sys
import time

import numpy as np
import torch
from torch import nn

MODELS = {
    "a": ([256, 128], 128, False),
    "b": ([256, 128], 128, True),
    "c": ([2048, 2048], 512, False),
}


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(data_dir, name):
    x = read_idx(f"{data_dir}/{name}-images-idx3-ubyte.gz").reshape(-1, 784)
    y = read_idx(f"{data_dir}/{name}-labels-idx1-ubyte.gz")
    return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y.astype(np.int64))


def build(hidden, batchnorm):
    layers, width = [], 784
    for units in hidden:
        linear = nn.Linear(width, units, bias=not batchnorm)
        nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
        if linear.bias is not None:
            nn.init.zeros_(linear.bias)
        layers.append(linear)
        if batchnorm:
            layers.append(nn.BatchNorm1d(units, eps=1e-3, momentum=0.01))
        layers.append(nn.ReLU())
        if batchnorm:
            layers.append(nn.Dropout(0.3))
        width = units
    out = nn.Linear(width, 10)
    nn.init.xavier_uniform_(out.weight)
    nn.init.zeros_(out.bias)
    layers.append(out)
    return nn.Sequential(*layers)


def main():
    model_name, epochs, threads, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    data_dir = sys.argv[5] if len(sys.argv) > 5 else "/usr/share/datasets/fashion-mnist"
    hidden, batch, batchnorm = MODELS[model_name]
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    x_train, y_train = load(data_dir, "train")
    if len(sys.argv) > 6:  # a shorter run, for choosing the thread setting
        x_train, y_train = x_train[:int(sys.argv[6])], y_train[:int(sys.argv[6])]
    x_test, y_test = load(data_dir, "t10k")

    model = build(hidden, batchnorm)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    n = x_train.shape[0]
    epoch_seconds, losses = [], []
    for _ in range(epochs):
        model.train()
        t0 = time.perf_counter()
        order = torch.randperm(n)
        total = 0.0
        for begin in range(0, n, batch):
            idx = order[begin:begin + batch]
            if idx.numel() == 1:
                break  # as Plexus: a trailing one-sample batch has no batch statistics
            xb, yb = x_train[idx], y_train[idx]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * idx.numel()
        epoch_seconds.append(time.perf_counter() - t0)
        losses.append(total / n)

    model.eval()
    correct = 0
    with torch.no_grad():
        t0 = time.perf_counter()
        for begin in range(0, x_test.shape[0], 1024):
            logits = model(x_test[begin:begin + 1024])
            correct += int((logits.argmax(1) == y_test[begin:begin + 1024]).sum())
        infer_seconds = time.perf_counter() - t0
    print(json.dumps({
        "system": "pytorch", "model": model_name, "threads": threads, "train_samples": n,
        "epoch_seconds": epoch_seconds, "losses": losses,
        "inference_samples_per_second": x_test.shape[0] / infer_seconds,
        "test_accuracy": correct / x_test.shape[0],
        "version": torch.__version__,
    }))


if __name__ == "__main__":
    main()
