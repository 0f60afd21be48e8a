#!/usr/bin/python3
"""scikit-learn's LinearRegression on the test split of a Plexus diabetes run, for reference.

    /usr/bin/python3 bench/regression/diabetes_linear.py RUN_DIR

The run's test_predictions.csv names its test rows (the `sample` key is the row of
examples/data/diabetes.csv); LinearRegression is fitted on every other row (Plexus's training
and validation rows together: ordinary least squares has nothing to stop early) and scored on
the same test rows as the run, next to the run's own figures.
"""
import csv
import json
import os
import sys

import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

run = sys.argv[1]
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
with open(os.path.join(root, "examples", "data", "diabetes.csv")) as f:
    rows = list(csv.reader(f))
header, data = rows[0], np.array(rows[1:], dtype=float)
y_col = header.index("progression")
X, y = np.delete(data, y_col, axis=1), data[:, y_col]
with open(os.path.join(run, "test_predictions.csv")) as f:
    pred = list(csv.DictReader(f))
test = np.array([int(r["sample"]) for r in pred])
train = np.setdiff1d(np.arange(len(y)), test)
model = LinearRegression().fit(X[train], y[train])
p = model.predict(X[test])
ours_true = np.array([float(r["progression"]) for r in pred])
ours_pred = np.array([float(r["progression_predicted"]) for r in pred])
assert np.allclose(ours_true, y[test]), "the run's test rows do not match diabetes.csv"
print(f"test rows {len(test)}, LinearRegression fitted on {len(train)}")
for name, q in (("LinearRegression", p), ("plexus run", ours_pred)):
    print(f"{name:17s} r2 {r2_score(y[test], q):.4f}  rmse {mean_squared_error(y[test], q) ** 0.5:.2f}"
          f"  mae {mean_absolute_error(y[test], q):.2f}")
