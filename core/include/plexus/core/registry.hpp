// Transitional: the registry lives in plexus/core/registry/registry.hpp (one folder per layer).
// Kept for code outside core/ that has not moved to the new path yet; delete once nothing
// includes it (grep -rn 'plexus/core/registry.hpp').
#pragma once

#include "plexus/core/registry/registry.hpp"
