#!/usr/bin/python3
"""PyTorch side of bench/vs_pytorch.py and bench/gpu/run.sh: trains one benchmark model on
Fashion-MNIST and prints one JSON line with per-epoch seconds, inference samples/s and test
accuracy.

Tensors are preloaded (pixels scaled to [0, 1]) and batched by hand, no DataLoader; the
initialization scheme is Plexus's (he_normal hidden layers, glorot_uniform output, zero
biases) and batchnorm uses Plexus's defaults (epsilon 1e-3, running-average weight 0.99).

    python3 bench/torch_mlp.py MODEL EPOCHS THREADS SEED [DATA_DIR [TRAIN_LIMIT]]
                               [--device cpu|cuda] [--batch N] [--hidden 4096,4096]
                               [--min-seconds S] [--max-epochs N] [--test-limit N]

MODEL is a (784-256-128-10, batch 128), b (a + batchnorm + dropout 0.3), c
(784-2048-2048-10, batch 512), a1024 (a at batch 1024), w (784-4096-4096-10, batch 1024) or
d (the CNN of bench/models/cnn.ini, batch 128, images [1, 28, 28]); all train with Adam lr 0.001. THREADS 0 keeps PyTorch's default intra-op thread count.
--batch and --hidden override the model's batch size and hidden widths. With --device cuda
the data is preloaded on the GPU and the clocks are read after torch.cuda.synchronize();
the loss is read back every step (loss.item()), as Plexus downloads its loss every step.
--min-seconds S adds epochs after EPOCHS until the epochs after the first (the warm-up one)
took S seconds in all, at most --max-epochs. DATA_DIR holds the IDX files, gzipped (*.gz)
or raw.
"""
import argparse
import gzip
import json
import os
import time

import torch
from torch import nn

try:
    import numpy as np
except ImportError:  # some PyTorch images come without numpy: read through torch alone
    np = None

# name -> (hidden widths, batch, batchnorm + dropout)
MODELS = {
    "a": ([256, 128], 128, False),
    "b": ([256, 128], 128, True),
    "c": ([2048, 2048], 512, False),
    "a1024": ([256, 128], 1024, False),
    "w": ([4096, 4096], 1024, False),
    "d": ("cnn", 128, True),  # the CNN of build_cnn; --hidden does not apply
}


def read_idx(path):
    """An IDX file as a uint8 array (a tensor without numpy); PATH.gz if it exists, else PATH
    without .gz."""
    if os.path.exists(path):
        with gzip.open(path, "rb") as f:
            data = f.read()
    else:
        with open(path[:-3] if path.endswith(".gz") else path, "rb") as f:
            data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    if np is not None:
        return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def load(data_dir, name):
    x = read_idx(f"{data_dir}/{name}-images-idx3-ubyte.gz").reshape(-1, 784)
    y = read_idx(f"{data_dir}/{name}-labels-idx1-ubyte.gz")
    if np is not None:
        return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y.astype(np.int64))
    return x.to(torch.float32) / 255.0, y.to(torch.int64)


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


def build_cnn():
    """bench/models/cnn.ini: conv 32 (3x3 same) - bn - relu - maxpool 2 - conv 64 - bn - relu -
    maxpool 2 - flatten - dense 128 - relu - dropout 0.3 - dense 10, with Plexus's
    initialisation (he_normal convolutions and hidden dense, glorot_uniform output, zero
    biases) and batchnorm defaults."""
    def conv(cin, cout):
        c = nn.Conv2d(cin, cout, 3, padding=1)
        nn.init.kaiming_normal_(c.weight, nonlinearity="relu")
        nn.init.zeros_(c.bias)
        return c
    hidden = nn.Linear(64 * 7 * 7, 128)
    nn.init.kaiming_normal_(hidden.weight, nonlinearity="relu")
    nn.init.zeros_(hidden.bias)
    out = nn.Linear(128, 10)
    nn.init.xavier_uniform_(out.weight)
    nn.init.zeros_(out.bias)
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        conv(1, 32), nn.BatchNorm2d(32, eps=1e-3, momentum=0.01), nn.ReLU(), nn.MaxPool2d(2),
        conv(32, 64), nn.BatchNorm2d(64, eps=1e-3, momentum=0.01), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), hidden, nn.ReLU(), nn.Dropout(0.3), out)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", choices=sorted(MODELS))
    ap.add_argument("epochs", type=int)
    ap.add_argument("threads", type=int)
    ap.add_argument("seed", type=int)
    ap.add_argument("data_dir", nargs="?", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("train_limit", nargs="?", type=int, default=None)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (cuda:N)")
    ap.add_argument("--batch", type=int, help="batch size instead of the model's")
    ap.add_argument("--hidden", help="hidden widths instead of the model's, e.g. 4096,4096")
    ap.add_argument("--min-seconds", type=float, default=0.0,
                    help="add epochs until the epochs after the first took this long in all")
    ap.add_argument("--max-epochs", type=int, default=200)
    ap.add_argument("--test-limit", type=int, help="evaluate on the first N test samples")
    return ap.parse_args()


def main():
    args = parse_args()
    hidden, batch, batchnorm = MODELS[args.model]
    if args.batch:
        batch = args.batch
    if args.hidden:
        hidden = [int(w) for w in args.hidden.split(",")]
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(args.seed)
    x_train, y_train = load(args.data_dir, "train")
    if args.train_limit:  # a shorter run, for choosing the thread setting
        x_train, y_train = x_train[:args.train_limit], y_train[:args.train_limit]
    x_test, y_test = load(args.data_dir, "t10k")
    if args.test_limit:
        x_test, y_test = x_test[:args.test_limit], y_test[:args.test_limit]
    x_train, y_train = x_train.to(device), y_train.to(device)
    x_test, y_test = x_test.to(device), y_test.to(device)

    def sync():
        if cuda:
            torch.cuda.synchronize(device)

    model = (build_cnn() if hidden == "cnn" else build(hidden, batchnorm)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    n = x_train.shape[0]
    epoch_seconds, losses = [], []
    while len(epoch_seconds) < args.epochs or (
            sum(epoch_seconds[1:]) < args.min_seconds and len(epoch_seconds) < args.max_epochs):
        model.train()
        sync()
        t0 = time.perf_counter()
        order = torch.randperm(n, device=device)
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
        sync()
        epoch_seconds.append(time.perf_counter() - t0)
        losses.append(total / n)

    model.eval()
    correct = 0
    with torch.no_grad():
        sync()
        t0 = time.perf_counter()
        for begin in range(0, x_test.shape[0], 1024):
            logits = model(x_test[begin:begin + 1024])
            correct += int((logits.argmax(1) == y_test[begin:begin + 1024]).sum())
        sync()
        infer_seconds = time.perf_counter() - t0
    result = {
        "system": "pytorch", "model": args.model, "threads": args.threads, "train_samples": n,
        "epoch_seconds": epoch_seconds, "losses": losses,
        "inference_samples_per_second": x_test.shape[0] / infer_seconds,
        "test_accuracy": correct / x_test.shape[0],
        "version": torch.__version__,
        "device": str(device), "batch": batch, "hidden": hidden,
        "intra_op_threads": torch.get_num_threads(),
    }
    if cuda:
        result["device_name"] = torch.cuda.get_device_name(device)
        result["cuda_version"] = torch.version.cuda
        result["tf32_matmul"] = bool(torch.backends.cuda.matmul.allow_tf32)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
