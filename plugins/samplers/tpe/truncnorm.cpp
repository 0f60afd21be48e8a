#include "truncnorm.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace plexus_tpe {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kLogSqrt2Pi = 0.91893853320467274178;

double ndtr(double x) {
    return 0.5 * std::erfc(-x / std::sqrt(2.0));
}

// log(exp(p) + exp(q))
double log_sum(double p, double q) {
    if (p == -kInf) return q;
    if (q == -kInf) return p;
    const double m = std::max(p, q);
    return m + std::log1p(std::exp(-std::fabs(p - q)));
}

// log(exp(p) - exp(q)) for q ≤ p
double log_diff(double p, double q) {
    if (q == -kInf) return p;
    return p + std::log1p(-std::exp(q - p));
}

// x with log Φ(x) = y (y < 0).
double ndtri_exp(double y) {
    if (y > -600.0) return ndtri(std::exp(y));
    // Φ(x) ≈ φ(x)/|x| this far out; bisect on the exact log Φ instead of trusting it.
    double lo = -1e3, hi = -30.0;
    for (int i = 0; i < 200 && hi - lo > 1e-12 * std::fabs(lo); ++i) {
        const double mid = 0.5 * (lo + hi);
        (log_ndtr(mid) < y ? lo : hi) = mid;
    }
    return 0.5 * (lo + hi);
}

}  // namespace

double log_ndtr(double x) {
    if (x > 6.0) return -ndtr(-x);  // log(1 - t) ≈ -t, t < 1e-9
    if (x > -20.0) return std::log(ndtr(x));
    // Φ(x) = φ(x)/(-x) · (1 − 1/x² + 3/x⁴ − 15/x⁶ …), summed until it stops changing.
    const double inv_x2 = 1.0 / (x * x);
    double sum = 1.0, term = 1.0;
    for (int i = 1; i < 50; ++i) {
        term *= -(2.0 * i - 1.0) * inv_x2;
        const double next = sum + term;
        if (next == sum) break;
        sum = next;
    }
    return -0.5 * x * x - std::log(-x) - kLogSqrt2Pi + std::log(sum);
}

double log_gauss_mass(double a, double b) {
    if (!(a < b)) return -kInf;
    if (b <= 0.0) return log_diff(log_ndtr(b), log_ndtr(a));
    if (a > 0.0) return log_diff(log_ndtr(-a), log_ndtr(-b));
    // Straddling 0: one minus both tails, without the cancellation of Φ(b) − Φ(a) near 1.
    return std::log1p(-ndtr(a) - ndtr(-b));
}

double ndtri(double p) {
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    if (!(p > 0.0)) return -kInf;
    if (!(p < 1.0)) return kInf;
    const double p_low = 0.02425;
    double x;
    if (p < p_low || p > 1.0 - p_low) {
        const double q = std::sqrt(-2.0 * std::log(p < p_low ? p : 1.0 - p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
        if (p > 1.0 - p_low) x = -x;
    } else {
        const double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
    }
    // One Halley step on Φ(x) − p takes the 1e-9 approximation to full precision.
    const double e = ndtr(x) - p;
    if (e == 0.0 || 0.5 * x * x > 700.0) return x;
    const double u = e * std::sqrt(2.0 * M_PI) * std::exp(0.5 * x * x);
    return x - u / (1.0 + 0.5 * x * u);
}

double truncnorm_ppf(double u, double a, double b) {
    if (u <= 0.0) return a;
    const double mass = log_gauss_mass(a, b);
    double x;
    if (a < 0.0)
        x = ndtri_exp(log_sum(log_ndtr(a), std::log(u) + mass));
    else
        x = -ndtri_exp(log_sum(log_ndtr(-b), std::log1p(-u) + mass));
    return std::clamp(x, a, b);
}

}  // namespace plexus_tpe
