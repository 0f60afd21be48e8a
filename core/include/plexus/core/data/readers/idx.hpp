// Reader for the IDX format of the MNIST family (http://yann.lecun.com/exdb/mnist/),
// gzipped or raw.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "plexus/core/data/dataset.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// One IDX file of unsigned bytes (type code 0x08).
struct IdxArray {
    std::vector<std::size_t> dims;
    std::vector<std::uint8_t> data;  // product(dims) bytes
};

/// Reads a .gz (detected by its magic bytes, not its name) or raw IDX file. Validates the
/// magic (0x00 0x00 type ndims), the type (uint8 only), dimensions (non-zero, product within
/// limits) and the data length (exact: truncated or trailing bytes are errors). Throws
/// DataError "PATH: what is wrong" on any problem.
IdxArray read_idx(const std::filesystem::path& path);

/// Loads an images/labels pair given a prefix such as
/// /usr/share/datasets/fashion-mnist/train: it reads PREFIX-images-idx3-ubyte[.gz] and
/// PREFIX-labels-idx1-ubyte[.gz] (the raw name is tried first). Checks that the label
/// count equals the image count and that the labels are 1-D. classes = max label + 1;
/// class_names are set for known datasets (Fashion-MNIST: T-shirt/top, Trouser, ...),
/// else "0", "1", ...
Dataset load_idx_dataset(const std::filesystem::path& prefix);

}  // namespace plexus::core

#pragma GCC visibility pop
