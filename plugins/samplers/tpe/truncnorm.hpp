// The standard normal distribution truncated to [a, b], computed in log space so that
// intervals far in a tail (a Parzen component 100 bandwidths away) keep their precision.
#pragma once

namespace plexus_tpe {

/// log Φ(x), accurate for every finite x (an asymptotic series below x = -20, where Φ
/// underflows).
double log_ndtr(double x);
/// log(Φ(b) − Φ(a)) for a ≤ b; −inf when a == b.
double log_gauss_mass(double a, double b);
/// x with Φ(x) = p, for 0 < p < 1 (Acklam's rational approximation refined by one Halley
/// step: relative error near machine precision).
double ndtri(double p);
/// The quantile u ∈ [0, 1) of the standard normal truncated to [a, b] (a < b): the value x
/// in [a, b] with (Φ(x) − Φ(a)) / (Φ(b) − Φ(a)) = u. Works on the side of the interval's
/// nearer tail, as Optuna and SciPy do.
double truncnorm_ppf(double u, double a, double b);

}  // namespace plexus_tpe
