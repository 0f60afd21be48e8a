// Transitional: the trainer lives in plexus/core/training/trainer.hpp (one folder per layer).
// Kept for code outside core/ that has not moved to the new path yet; delete once nothing
// includes it (grep -rn 'plexus/core/trainer.hpp').
#pragma once

#include "plexus/core/training/trainer.hpp"
