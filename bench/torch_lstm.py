#!/usr/bin/python3
"""PyTorch side of bench/vs_pytorch.py model (e): the co2 forecaster of
bench/models/co2_lstm.ini (or co2_gru.ini) with nn.LSTM / nn.GRU, trained on the same windows,
printing one JSON line with per-epoch seconds, inference windows/s and the test MAE in ppm.

    python3 bench/torch_lstm.py CELL EPOCHS THREADS SEED [CSV]

CELL is lstm or gru. The data are prepared as Plexus's series: reader does it
(window=52 horizon=1 relative=true): missing weeks linearly interpolated, the rows split
80:20 chronologically with the last 10 % of the training part validating (the epoch with the
lowest validation loss gives the weights tested, as plexus train keeps), windows inside
each part only, every window expressed relative to its last value and the target as the
change from it, the target standardized on the training windows. The model: one recurrent
layer of 64 units over the window [52, 1], its last state into a dense layer of one unit;
MSE, Adam lr 0.001, batch 64, shuffled every epoch. Inference windows/s: forward passes over
every window of the series at batch 64 (best of three passes), as plexus-bench-recurrent
(bench/recurrent_infer.cpp) times Plexus's layers. Tensors are preloaded and batched by
hand; the loss is read back every step (loss.item()), as Plexus downloads its loss.

The weights start as Plexus's (and Keras's) do, so the same model is compared: glorot_uniform
input kernels and dense kernel, orthogonal recurrent kernels, zero biases except the LSTM's
forget gate (1). PLEXUS_TORCH_INIT=torch keeps PyTorch's own uniform(+-1/sqrt(units)) instead.
"""
import csv
import json
import math
import os
import sys
import time

import torch
from torch import nn

WINDOW, BATCH, UNITS = 52, 64, 64


def read_series(path):
    values = []
    with open(path) as f:
        for row in csv.DictReader(f):
            values.append(float(row["co2"]) if row["co2"].strip() else math.nan)
    known = [i for i, v in enumerate(values) if not math.isnan(v)]
    for a, b in zip(known, known[1:]):
        for i in range(a + 1, b):
            values[i] = values[a] + (values[b] - values[a]) * (i - a) / (b - a)
    return values


def windows(values):
    """Relative windows [n, 52, 1], their targets (the change after the last value) and bases."""
    xs, ys, bases = [], [], []
    for s in range(len(values) - WINDOW):
        last = values[s + WINDOW - 1]
        xs.append([[v - last] for v in values[s:s + WINDOW]])
        ys.append([values[s + WINDOW] - last])
        bases.append(last)
    return torch.tensor(xs), torch.tensor(ys), torch.tensor(bases)


class Forecaster(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(1, UNITS, batch_first=True)
        self.out = nn.Linear(UNITS, 1)
        if os.environ.get("PLEXUS_TORCH_INIT", "keras") == "keras":
            self.keras_init(cell)

    def keras_init(self, cell):
        gates = 4 if cell == "lstm" else 3
        with torch.no_grad():
            # PyTorch stacks the gates' kernels as [gates * units, in]; Keras's glorot_uniform
            # draws the whole [in, gates * units] kernel at once, with those fans.
            limit = math.sqrt(6.0 / (self.rnn.input_size + gates * UNITS))
            self.rnn.weight_ih_l0.uniform_(-limit, limit)
            w = torch.empty(UNITS, gates * UNITS)  # Keras: orthogonal [units, gates * units]
            nn.init.orthogonal_(w)
            self.rnn.weight_hh_l0.copy_(w.t())
            self.rnn.bias_ih_l0.zero_()
            self.rnn.bias_hh_l0.zero_()
            if cell == "lstm":  # gate order i, f, g, o: unit_forget_bias
                self.rnn.bias_ih_l0[UNITS:2 * UNITS].fill_(1.0)
            nn.init.xavier_uniform_(self.out.weight)
            self.out.bias.zero_()

    def forward(self, x):
        h, _ = self.rnn(x)
        return self.out(h[:, -1, :])


def main():
    cell, epochs, threads, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    path = sys.argv[5] if len(sys.argv) > 5 else "examples/data/co2.csv"
    torch.manual_seed(seed)
    if threads > 0:
        torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    values = read_series(path)
    cut = int(len(values) * 0.8)
    train_part = values[:cut]
    fit = int(len(train_part) * 0.9)
    x_train, y_train, _ = windows(train_part[:fit])
    x_val, y_val, _ = windows(train_part[fit:])
    x_test, y_test, _ = windows(values[cut:])
    mean, std = y_train.mean(), y_train.std(unbiased=False)
    model = Forecaster(cell)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    n = x_train.shape[0]
    epoch_seconds = []
    best_val, best_state = math.inf, None
    for _ in range(epochs):
        t0 = time.perf_counter()
        order = torch.randperm(n)
        for b in range(0, n, BATCH):
            ids = order[b:b + BATCH]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[ids]), (y_train[ids] - mean) / std)
            loss.backward()
            optimizer.step()
            loss.item()
        epoch_seconds.append(time.perf_counter() - t0)
        with torch.no_grad():  # as plexus train: the best epoch's weights by val_loss are kept
            val_loss = loss_fn(model(x_val), (y_val - mean) / std).item()
        if val_loss < best_val:
            best_val = val_loss
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    x_all, _, _ = windows(values)
    best = math.inf
    with torch.no_grad():
        for _ in range(3):
            t0 = time.perf_counter()
            for b in range(0, x_all.shape[0], BATCH):
                model(x_all[b:b + BATCH])
            best = min(best, time.perf_counter() - t0)
        pred = model(x_test)
        mae = (pred * std + mean - y_test).abs().mean().item()
        naive = y_test.abs().mean().item()  # "repeat the last value": its error is the change
    print(json.dumps({"epoch_seconds": epoch_seconds, "train_samples": n,
                      "inference_samples_per_second": x_all.shape[0] / best,
                      "test_mae": mae, "naive_mae": naive, "version": torch.__version__}))


if __name__ == "__main__":
    main()
