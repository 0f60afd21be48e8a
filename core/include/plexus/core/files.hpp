// Forwarding header, to be deleted: include plexus/support/files.hpp or plexus/core/interrupt.hpp.
#pragma once
#include "plexus/core/interrupt.hpp"
#include "plexus/support/files.hpp"
namespace plexus::core {
using namespace plexus::support;
}
