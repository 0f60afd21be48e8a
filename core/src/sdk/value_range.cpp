#include "plexus/support/value_range.hpp"

#include <cmath>

#include "plexus/error.hpp"
#include "plexus/support/text.hpp"

namespace plexus::support {

ValueRange parse_range(const std::string& text, const char* who) {
    double low = 0, high = 0;
    if (!parse_pair(text, ',', low, high) || !(std::fabs(low) < 3.4e38) ||
        !(std::fabs(high) < 3.4e38) || !(low < high))
        throw ParamError(std::string(who) + ": range '" + text +
                         "' must be two numbers 'low,high' with low < high (e.g. range=0,1 or "
                         "range=-1,1)");
    return {static_cast<float>(low), static_cast<float>(high)};
}

}  // namespace plexus::support
