#include "plexus/core/splits.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <random>

#include "plexus/core/text.hpp"
#include "plexus/error.hpp"

namespace plexus::core {
namespace {

// Takes round(fraction · n) items from the front of `items` into `out`, advancing `from`.
void take(const std::vector<std::uint32_t>& items, std::size_t& from, double fraction,
          std::vector<std::uint32_t>& out) {
    const auto n = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(items.size())));
    const std::size_t end = std::min(items.size(), from + n);
    out.insert(out.end(), items.begin() + static_cast<std::ptrdiff_t>(from),
               items.begin() + static_cast<std::ptrdiff_t>(end));
    from = end;
}

}  // namespace

Splits make_splits(const std::vector<std::uint32_t>& pool, const std::vector<std::uint32_t>& labels,
                   const SplitSpec& spec, std::uint64_t seed) {
    if (spec.validation < 0 || spec.test < 0 || spec.validation + spec.test >= 1.0)
        throw ConfigError("validation and test fractions must be >= 0 and sum to less than 1");
    std::vector<std::uint32_t> shuffled = pool;
    std::mt19937_64 rng(seed);
    std::shuffle(shuffled.begin(), shuffled.end(), rng);

    std::vector<std::vector<std::uint32_t>> groups;
    if (spec.stratified) {
        for (std::uint32_t i : shuffled) {
            if (labels[i] >= groups.size()) groups.resize(labels[i] + 1);
            groups[labels[i]].push_back(i);
        }
    } else {
        groups.push_back(std::move(shuffled));
    }
    Splits s;
    for (const auto& g : groups) {
        std::size_t at = 0;
        take(g, at, spec.test, s.test);
        take(g, at, spec.validation, s.validation);
        s.train.insert(s.train.end(), g.begin() + static_cast<std::ptrdiff_t>(at), g.end());
    }
    if (spec.stratified) {
        // Groups were appended class by class; shuffle again so no split is ordered by class.
        for (auto* part : {&s.train, &s.validation, &s.test}) std::shuffle(part->begin(), part->end(), rng);
    }
    return s;
}

std::vector<std::size_t> class_counts(const std::vector<std::uint32_t>& indices,
                                      const std::vector<std::uint32_t>& labels, std::size_t classes) {
    std::vector<std::size_t> counts(classes, 0);
    for (std::uint32_t i : indices)
        if (labels[i] < classes) ++counts[labels[i]];
    return counts;
}

double parse_fraction(const std::string& text, const std::string& where, bool& stratified) {
    stratified = false;
    std::string number;
    for (const auto& word : split(text, ' ')) {
        const std::string w = trim(word);
        if (w.empty()) continue;
        if (w == "stratified")
            stratified = true;
        else if (number.empty())
            number = w;
        else
            number = "?";
    }
    double v = -1;
    auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), v);
    if (ec != std::errc() || p != number.data() + number.size() || !(v >= 0.0 && v < 1.0))
        throw ConfigError((where.empty() ? "" : where + ": ") + "expected a fraction in [0, 1), "
                          "optionally followed by 'stratified' (e.g. 0.1 stratified), found '" +
                          text + "'");
    return v;
}

}  // namespace plexus::core
