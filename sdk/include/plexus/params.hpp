// Parameter specs (declared once, next to each component) and the validated values a
// factory receives.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "plexus/export.hpp"

namespace plexus {

enum class ParamType : std::uint32_t { integer, real, boolean, string, choice };

/// Plain data, so a plugin can declare its table as a constant array.
struct ParamSpec {
    const char* name;
    ParamType type;
    const char* default_value;  // nullptr: the parameter is required
    double min = -std::numeric_limits<double>::infinity();
    double max = std::numeric_limits<double>::infinity();
    const char* choices = nullptr;  // "a|b|c" for ParamType::choice
    const char* doc = "";
    std::uint32_t flags = 0;  // kMinExclusive | kMaxExclusive
};

inline constexpr std::uint32_t kMinExclusive = 1;
inline constexpr std::uint32_t kMaxExclusive = 2;

/// Validated parameter values by name. Every spec'd parameter is present (defaults filled
/// in by the host), so getters only throw ParamError for a name the spec does not have.
class PLEXUS_API Params {
public:
    Params();
    ~Params();
    Params(const Params&);
    Params& operator=(const Params&);

    bool has(const std::string& name) const;
    const std::string& get_string(const std::string& name) const;
    long long get_int(const std::string& name) const;
    double get_real(const std::string& name) const;
    bool get_bool(const std::string& name) const;

    void set(const std::string& name, const std::string& value);
    const std::map<std::string, std::string>& values() const { return values_; }

private:
    std::map<std::string, std::string> values_;
};

}  // namespace plexus
