"""The benchmark functions of tune_vs_optuna, as functions.hpp defines them for Plexus:
Branin (global minimum 0.397887), Hartmann-6 (-3.32237) and the 10-dimensional Rosenbrock
(0 at x = 1), with their usual domains. FUNCTIONS maps a name to (low, high, f)."""
import math

PI = math.pi


def branin(x):
    b, c, t = 5.1 / (4 * PI * PI), 5 / PI, 1 / (8 * PI)
    return (x[1] - b * x[0] ** 2 + c * x[0] - 6) ** 2 + 10 * (1 - t) * math.cos(x[0]) + 10


ALPHA = [1.0, 1.2, 3.0, 3.2]
A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
     [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
     [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
     [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
     [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]


def hartmann6(x):
    return -sum(ALPHA[i] * math.exp(-sum(A[i][j] * (x[j] - P[i][j]) ** 2 for j in range(6)))
                for i in range(4))


def rosenbrock(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


FUNCTIONS = {
    "branin": ([-5, 0], [10, 15], branin),
    "hartmann6": ([0] * 6, [1] * 6, hartmann6),
    "rosenbrock10": ([-5] * 10, [10] * 10, rosenbrock),
}
