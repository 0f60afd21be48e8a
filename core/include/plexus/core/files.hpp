// Forwarding header, to be deleted: include plexus/support/files.hpp (write_file_atomic)
// or plexus/core/training/interrupt.hpp (Ctrl-C handling).
#pragma once
#include "plexus/core/training/interrupt.hpp"
#include "plexus/support/files.hpp"
namespace plexus::core {
using namespace plexus::support;
}
