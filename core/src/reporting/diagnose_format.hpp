// Number formats shared by the diagnosis rules and the diagnosis's text.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <string>

namespace plexus::core::diagnose_format {

inline std::string num(double x) {
    return fmt::format("{:.4g}", x);
}

/// Errors as percentages, gaps between errors as percentage points: "9.7 %", "8.5 points".
inline std::string pct(double fraction, const char* unit = "%") {
    const double p = 100.0 * fraction;
    if (p == 0.0) return fmt::format("0 {}", unit);
    return std::fabs(p) < 1.0 ? fmt::format("{:.2f} {}", p, unit)
                              : fmt::format("{:.1f} {}", p, unit);
}

}  // namespace plexus::core::diagnose_format
