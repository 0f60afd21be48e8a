#!/usr/bin/python3
"""Prints the reference values test_tpe.cpp holds: Optuna 3.1's Parzen estimator (the one
its TPESampler builds, default parameters) fitted to small hand-made observations, and its
log density at a few points. Run with Debian's python3-optuna 3.1: /usr/bin/python3 THIS."""
import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
from optuna.samplers._tpe.sampler import default_weights

assert optuna.__version__ == "3.1.0"


def case(name, space, observations, points, multivariate=False):
    params = _ParzenEstimatorParameters(True, 1.0, True, False, default_weights, multivariate)
    obs = {k: np.asarray(v, dtype=float) for k, v in observations.items()}
    pe = _ParzenEstimator(obs, space, params)
    pts = {k: np.asarray(v, dtype=int if isinstance(space[k], CategoricalDistribution)
                         else float) for k, v in points.items()}
    values = ", ".join("%.12g" % v for v in pe.log_pdf(pts))
    print("%s: {%s}" % (name, values))


case("float", {"x": FloatDistribution(-5, 10)}, {"x": [1.0, 2.5, -3.0]},
     {"x": [-4.0, 0.0, 2.0, 9.5]})
case("int", {"x": IntDistribution(1, 10)}, {"x": [2, 3, 3, 8]}, {"x": [1, 3, 10]})
case("int_step", {"x": IntDistribution(8, 20, step=4)}, {"x": [8, 16]}, {"x": [8, 12, 20]})
case("float_step", {"x": FloatDistribution(0, 1, step=0.25)}, {"x": [0.25, 0.5, 0.5]},
     {"x": [0.0, 0.5, 1.0]})
case("log", {"x": FloatDistribution(1e-4, 1e-1, log=True)}, {"x": [1e-3, 3e-3]},
     {"x": [1e-4, 2e-3, 5e-2]})
case("int_log", {"x": IntDistribution(1, 1000, log=True)}, {"x": [4, 16, 600]},
     {"x": [1, 20, 1000]})
case("choice", {"c": CategoricalDistribution(["a", "b", "c"])}, {"c": [0, 2, 2]},
     {"c": [0, 1, 2]})
case("empty", {"x": FloatDistribution(-5, 10)}, {"x": []}, {"x": [0.0, 2.5]})
case("ramp", {"x": FloatDistribution(0, 1)}, {"x": [i / 29 for i in range(30)]},
     {"x": [0.0, 0.5, 1.0]})
case("multivariate", {"x": FloatDistribution(-5, 10), "c": CategoricalDistribution([1, 2, 3])},
     {"x": [1.0, 2.5, -3.0], "c": [0, 1, 1]}, {"x": [0.0, 2.0], "c": [1, 2]}, multivariate=True)
