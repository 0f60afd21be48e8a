// Exception types. They are exported from libplexus_core.so so that a throw in a plugin
// and a catch in the host agree on the type (one home for RTTI).
#pragma once

#include <stdexcept>
#include <string>

#include "plexus/export.hpp"

namespace plexus {

/// Base of every Plexus error. what() is one line meant for the user: what went wrong,
/// where, and what to do.
class PLEXUS_API Error : public std::runtime_error {
public:
    explicit Error(const std::string& message);
    ~Error() override;
};

/// A plugin library could not be found, loaded or trusted, or a component name is unknown.
class PLEXUS_API PluginError : public Error {
public:
    using Error::Error;
    ~PluginError() override;
};

/// A component parameter is unknown, of the wrong type or out of range.
class PLEXUS_API ParamError : public Error {
public:
    using Error::Error;
    ~ParamError() override;
};

/// An experiment file or command-line setting is malformed.
class PLEXUS_API ConfigError : public Error {
public:
    using Error::Error;
    ~ConfigError() override;
};

/// Tensor shapes do not fit together (thrown by Layer::build and friends).
class PLEXUS_API ShapeError : public Error {
public:
    using Error::Error;
    ~ShapeError() override;
};

/// A dataset file is missing, truncated or malformed.
class PLEXUS_API DataError : public Error {
public:
    using Error::Error;
    ~DataError() override;
};

/// A device could not allocate, transfer or run an op.
class PLEXUS_API DeviceError : public Error {
public:
    using Error::Error;
    ~DeviceError() override;
};

}  // namespace plexus
