// The report's pictures of a convolution's learned filters (as in Krizhevsky et al. 2012,
// figure 3): one small inline SVG image per filter, so the report stays one self-contained file.
#pragma once

#include <string>

#include "plexus/core/data/host_tensor.hpp"

namespace plexus::core::svg {

/// Pixel colours of each filter of a kernel [F, C, kh, kw] as "#rrggbb", F * kh * kw of them,
/// filter by filter, row-major: C = 3 as RGB, other C as gray of the mean over the channels.
/// Each filter is min-max scaled to [0, 255] on its own (a constant filter is mid-gray).
/// requires: kernel.shape is [F, C, kh, kw] and kernel.values holds its numel floats.
std::vector<std::string> filter_colours(const HostTensor& kernel);

/// A figure of every filter of `kernel` (see filter_colours) drawn `scale` times larger with
/// nearest-neighbour pixels, each an <svg class="filter">; "" when kernel is not of rank 4.
std::string filter_figure(const HostTensor& kernel, int scale);

}  // namespace plexus::core::svg
