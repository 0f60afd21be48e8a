#!/usr/bin/python3
# Made the reference values in test_regression.cpp with scikit-learn (Debian's python3-sklearn
# 1.2): run it and paste its output into the test. The inputs are multiples of 1/8, so float32
# (the test's tensors) and float64 (scikit-learn) hold exactly the same numbers.
import numpy as np
import sklearn
from sklearn.metrics import (mean_absolute_error, mean_absolute_percentage_error,
                             mean_squared_error, r2_score)


def values(y_true, y_pred):
    return {
        "mae": mean_absolute_error(y_true, y_pred),
        "mse": mean_squared_error(y_true, y_pred),
        "rmse": mean_squared_error(y_true, y_pred, squared=False),
        "r2": r2_score(y_true, y_pred),
        "mape": mean_absolute_percentage_error(y_true, y_pred),
    }


def cpp(name, a):
    return "const std::vector<float> %s = {%s};" % (
        name, ", ".join(repr(float(v)) for v in a.ravel()))


def show(title, y_true, y_pred):
    print("//", title)
    for key, v in values(y_true, y_pred).items():
        print('    {"%s", %r},' % (key, float(v)))


print("// scikit-learn", sklearn.__version__)
# 13 rows of 3 columns (fed in batches of 5, 5, 3): a centred column, a column with a zero
# target (mape's epsilon floor) and a column far from 0 with a small spread (r2's shift).
rng = np.random.default_rng(16)
t = rng.integers(-40, 41, size=(13, 3)) / 8.0
t[:, 2] += 400.0
t[4, 1] = 0.0
p = t + rng.integers(-12, 13, size=(13, 3)) / 8.0
p[4, 1] = 0.0  # exact at the zero target: |0| / eps = 0
print(cpp("kTarget", t))
print(cpp("kPred", p))
show("multi-column, multi-batch", t, p)

# r2 with constant target columns: scikit-learn scores a perfectly predicted one 1 and any
# other 0, then averages the columns.
tc = np.array([[2.0, 1.0], [2.0, 2.0], [2.0, 4.0]])
pc = np.array([[2.0, 1.5], [2.0, 2.0], [2.0, 3.0]])
print("// r2, constant column predicted exactly:", repr(float(r2_score(tc, pc))))
pc2 = pc.copy()
pc2[1, 0] = 2.5
print("// r2, constant column missed:", repr(float(r2_score(tc, pc2))))
print("// r2, one constant column missed:", repr(float(r2_score(tc[:, :1], pc2[:, :1]))))
