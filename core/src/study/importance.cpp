// Parameter importance as the correlation ratio η² (Pearson 1905; Fisher's η² of a one-way
// ANOVA): the share of the objective's variance between the groups a parameter splits the
// trials into. A choice groups by choice; any other parameter by quantile bins, so the ranking
// does not depend on a log or linear scale. It sees each parameter alone (no interactions,
// unlike fANOVA), which is what a person reading the page can check by eye on the scatter
// plots beside it.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "plexus/core/study/study_report.hpp"

namespace plexus::core {

namespace {

// Bin of every trial for a non-choice parameter: sorted by value, the trial at rank r goes to
// bin floor(r * k / n) with k = max(2, floor(sqrt(n))) bins, and equal values share the bin of
// the first of them, so a grid's values never split.
std::vector<double> quantile_bins(const std::vector<double>& x) {
    const std::size_t n = x.size();
    const std::size_t k = std::max<std::size_t>(2, static_cast<std::size_t>(std::sqrt(n)));
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return x[a] < x[b]; });
    std::vector<double> bin(n);
    for (std::size_t r = 0; r < n; ++r) {
        const bool tie = r > 0 && x[order[r]] == x[order[r - 1]];
        bin[order[r]] = tie ? bin[order[r - 1]] : static_cast<double>(r * k / n);
    }
    return bin;
}

// η² of `y` grouped by equal `group` values. requires: y has mean 0 and SS_total > 0.
double eta_squared(const std::vector<double>& y, const std::vector<double>& group,
                   double ss_total) {
    std::map<double, std::pair<double, std::size_t>> sums;  // group -> (sum, count)
    for (std::size_t i = 0; i < y.size(); ++i) {
        auto& [sum, count] = sums[group[i]];
        sum += y[i];
        ++count;
    }
    double between = 0.0;
    for (const auto& [g, sc] : sums)
        between += sc.first * sc.first / static_cast<double>(sc.second);
    const double eta = between / ss_total;
    return std::isfinite(eta) ? std::clamp(eta, 0.0, 1.0) : 0.0;
}

}  // namespace

std::vector<std::pair<std::string, double>> parameter_importance(
    const StudySpec& spec, const std::vector<TrialRecord>& trials) {
    const std::size_t p = spec.space.size();
    std::vector<double> y;
    std::vector<std::vector<double>> x(p);
    for (const TrialRecord& t : trials) {
        if (t.state != TrialState::complete || !t.value || !std::isfinite(*t.value) ||
            t.params.size() != p || !std::all_of(t.params.begin(), t.params.end(), [](double v) {
                return std::isfinite(v);
            }))
            continue;
        y.push_back(*t.value);
        for (std::size_t j = 0; j < p; ++j) x[j].push_back(t.params[j]);
    }
    if (y.size() < 2) return {};

    // Scaled into [-1, 1] first: η² does not change, and values near the double range cannot
    // overflow the sums of squares.
    double scale = 0.0;
    for (const double v : y) scale = std::max(scale, std::abs(v));
    std::vector<std::pair<std::string, double>> out;
    for (const SpaceParam& param : spec.space) out.emplace_back(param.name, 0.0);
    if (scale == 0.0 || std::all_of(y.begin(), y.end(), [&](double v) { return v == y[0]; }))
        return out;
    double mean = 0.0;
    for (double& v : y) mean += (v /= scale);
    mean /= static_cast<double>(y.size());
    double ss_total = 0.0;
    for (double& v : y) {
        v -= mean;
        ss_total += v * v;
    }

    double total = 0.0;
    for (std::size_t j = 0; j < p; ++j) {
        const bool choice = spec.space[j].kind == SpaceKind::choice;
        out[j].second = eta_squared(y, choice ? x[j] : quantile_bins(x[j]), ss_total);
        total += out[j].second;
    }
    if (total > 0.0)
        for (auto& entry : out) entry.second /= total;
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    return out;
}

}  // namespace plexus::core
