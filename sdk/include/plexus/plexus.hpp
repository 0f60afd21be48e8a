// Everything a plugin author needs.
#pragma once

#include "plexus/callback.hpp"
#include "plexus/device.hpp"
#include "plexus/error.hpp"
#include "plexus/layer.hpp"
#include "plexus/loss.hpp"
#include "plexus/metric.hpp"
#include "plexus/optimizer.hpp"
#include "plexus/params.hpp"
#include "plexus/plugin.hpp"
#include "plexus/pruner.hpp"
#include "plexus/sampler.hpp"
#include "plexus/shape.hpp"
#include "plexus/targets.hpp"
#include "plexus/tensor.hpp"
#include "plexus/transform.hpp"
