#!/usr/bin/python3
# Made the huber reference values in test_regression.cpp with PyTorch's nn.HuberLoss (Debian's
# python3-torch 1.13): run it and paste its output into the test. Inputs are multiples of 1/8,
# exact in float32 and float64 alike; the residuals fall on both sides of each delta and on it.
import torch

pred = torch.tensor([[1.5, -0.25, 3.0, 0.0], [2.0, -4.0, 0.5, 1.0], [-1.0, 0.75, 2.5, -2.0]],
                    dtype=torch.float64)
target = torch.tensor([[0.0, 0.25, -0.5, 0.0], [2.5, 1.0, 0.5, -1.5], [-3.0, 0.75, 0.0, -1.5]],
                      dtype=torch.float64)
print("// torch", torch.__version__)
for delta in (1.0, 0.5, 2.5):
    p = pred.clone().requires_grad_(True)
    loss = torch.nn.HuberLoss(reduction="mean", delta=delta)(p, target)
    loss.backward()
    print("// delta", delta, "loss", repr(loss.item()))
    print("// dpred", ", ".join(repr(v) for v in p.grad.flatten().tolist()))
