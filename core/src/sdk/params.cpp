#include "plexus/params.hpp"

#include <charconv>
#include <cmath>

#include "plexus/error.hpp"

namespace plexus {

Params::Params() = default;
Params::~Params() = default;
Params::Params(const Params&) = default;
Params& Params::operator=(const Params&) = default;

bool Params::has(const std::string& name) const {
    return values_.count(name) != 0;
}

const std::string& Params::get_string(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) throw ParamError("parameter '" + name + "' is not set");
    return it->second;
}

long long Params::get_int(const std::string& name) const {
    const std::string& s = get_string(name);
    long long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size())
        throw ParamError("parameter '" + name + "': '" + s + "' is not an integer");
    return v;
}

double Params::get_real(const std::string& name) const {
    const std::string& s = get_string(name);
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v))
        throw ParamError("parameter '" + name + "': '" + s + "' is not a number");
    return v;
}

bool Params::get_bool(const std::string& name) const {
    const std::string& s = get_string(name);
    if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "0" || s == "no" || s == "off") return false;
    throw ParamError("parameter '" + name + "': '" + s + "' is not true or false");
}

void Params::set(const std::string& name, const std::string& value) {
    values_[name] = value;
}

}  // namespace plexus
