// Forwarding header, to be deleted: include plexus/support/text.hpp.
#pragma once
#include "plexus/support/text.hpp"
namespace plexus::core {
using namespace plexus::support;
}
