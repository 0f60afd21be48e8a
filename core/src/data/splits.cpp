#include "plexus/core/data/splits.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <random>

#include "plexus/error.hpp"
#include "plexus/support/text.hpp"

namespace plexus::core {
namespace {

// Takes round(fraction · n) items from the front of `items` into `out`, advancing `from`.
void take(const std::vector<std::uint32_t>& items, std::size_t& from, double fraction,
          std::vector<std::uint32_t>& out) {
    const auto n =
        static_cast<std::size_t>(std::llround(fraction * static_cast<double>(items.size())));
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
        for (auto* part : {&s.train, &s.validation, &s.test})
            std::shuffle(part->begin(), part->end(), rng);
    }
    return s;
}

Splits make_chronological_splits(const std::vector<std::uint32_t>& pool,
                                 const std::vector<std::array<std::uint32_t, 2>>& spans,
                                 const SplitSpec& spec) {
    if (spec.validation < 0 || spec.test < 0 || spec.validation + spec.test >= 1.0)
        throw ConfigError("validation and test fractions must be >= 0 and sum to less than 1");
    Splits s;
    if (pool.empty()) return s;
    const auto span = [&](std::uint32_t i) {
        return spans.empty() ? std::array<std::uint32_t, 2>{i, i} : spans[i];
    };
    std::uint64_t first = span(pool.front())[0], last = span(pool.front())[1];
    for (std::uint32_t i : pool) {
        first = std::min<std::uint64_t>(first, span(i)[0]);
        last = std::max<std::uint64_t>(last, span(i)[1]);
    }
    const double rows = static_cast<double>(last - first + 1);
    const auto test_rows = static_cast<std::uint64_t>(std::llround(spec.test * rows));
    const auto validation_rows = static_cast<std::uint64_t>(std::llround(spec.validation * rows));
    const std::uint64_t test_from = last + 1 - test_rows;
    const std::uint64_t validation_from = test_from - std::min(validation_rows, test_from - first);
    for (std::uint32_t i : pool) {
        const auto [a, b] = span(i);
        if (b < validation_from)
            s.train.push_back(i);
        else if (a >= validation_from && b < test_from)
            s.validation.push_back(i);
        else if (a >= test_from)
            s.test.push_back(i);
        else
            ++s.dropped;
    }
    return s;
}

std::vector<std::size_t> class_counts(const std::vector<std::uint32_t>& indices,
                                      const std::vector<std::uint32_t>& labels,
                                      std::size_t classes) {
    std::vector<std::size_t> counts(classes, 0);
    if (labels.empty()) return counts;  // float targets: no classes to count
    for (std::uint32_t i : indices)
        if (labels[i] < classes) ++counts[labels[i]];
    return counts;
}

double parse_fraction(const std::string& text, const std::string& where, bool& stratified,
                      bool* chronological) {
    stratified = false;
    if (chronological) *chronological = false;
    std::string number;
    for (const auto& word : support::split(text, ' ')) {
        const std::string w = support::trim(word);
        if (w.empty()) continue;
        if (w == "stratified")
            stratified = true;
        else if (w == "chronological" && chronological)
            *chronological = true;
        else if (number.empty())
            number = w;
        else
            number = "?";
    }
    double v = -1;
    auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), v);
    if (ec != std::errc() || p != number.data() + number.size() || !(v >= 0.0 && v < 1.0))
        throw ConfigError((where.empty() ? "" : where + ": ") +
                          "expected a fraction in [0, 1), "
                          "optionally followed by 'stratified'" +
                          (chronological ? std::string(" or 'chronological'") : std::string()) +
                          " (e.g. 0.1 stratified), found '" + text + "'");
    return v;
}

SplitSpec parse_split(const std::string& text, const std::string& where) {
    const auto fail = [&](const std::string& what) {
        return ConfigError((where.empty() ? "" : where + ": ") + "split '" + text + "' " + what +
                           " (use e.g. 80:20, 70:30, 60:20:20, 70:15:15 or 98:1:1, optionally with "
                           "'stratified' or 'chronological')");
    };
    // Words are separated by white space; white space around ':' is part of the ratio.
    std::vector<std::string> words(1);
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (!std::isspace(static_cast<unsigned char>(c))) {
            words.back() += c;
            continue;
        }
        const auto next = text.find_first_not_of(" \t\r\n\v\f", i);
        const bool joins = (!words.back().empty() && words.back().back() == ':') ||
                           (next != std::string::npos && text[next] == ':');
        if (!joins && !words.back().empty()) words.emplace_back();
    }
    SplitSpec spec;
    std::string ratio;
    for (const auto& w : words) {
        if (w.empty()) continue;
        if (w == "stratified" && !spec.stratified)
            spec.stratified = true;
        else if (w == "chronological" && !spec.chronological)
            spec.chronological = true;
        else if (ratio.empty() && w != "stratified" && w != "chronological")
            ratio = w;
        else
            throw fail("has an unexpected word '" + w + "'");
    }
    if (spec.stratified && spec.chronological)
        throw fail(
            "is both stratified and chronological (a chronological split takes the most recent "
            "samples, whatever their class; keep one)");
    if (ratio.empty()) throw fail("has no ratio");
    const auto parts = support::split(ratio, ':');
    if (parts.size() < 2 || parts.size() > 3)
        throw fail("is not a ratio train:test or train:validation:test");
    std::vector<double> values;
    double sum = 0;
    for (const auto& part : parts) {
        double v = 0;
        const auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
        if (part.empty() || ec != std::errc() || p != part.data() + part.size() ||
            !std::isfinite(v))
            throw fail("has '" + part + "', which is not a number");
        if (!(v > 0)) throw fail("has the part " + part + "; every part must be above 0");
        values.push_back(v);
        sum += v;
    }
    // Percentages must add up: rescaling 80:30 would hide a typo.
    if (std::fabs(sum - 100.0) > 1e-6) {
        throw fail(fmt::format("has parts that add up to {:g}, not 100", sum));
    }
    spec.test = values.back() / sum;
    if (values.size() == 3) spec.validation = values[1] / sum;
    if (spec.validation + spec.test >= 1.0) throw fail("leaves no samples for training");
    return spec;
}

}  // namespace plexus::core
