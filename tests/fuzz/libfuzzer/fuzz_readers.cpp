// libFuzzer target: data files through the readers (docs/fuzzing.md). The first byte picks
// the reader (CSV, IDX, .npy as features and as labels, series CSV), the rest is the file.
#include <cstddef>
#include <cstdint>

#include "fuzz_file.hpp"
#include "plexus/core/data/readers/idx.hpp"
#include "plexus/core/data/readers/series.hpp"
#include "plexus/core/data/readers/sources.hpp"
#include "plexus/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    using namespace plexus::core;
    const auto file = plexus::fuzz::input_file(data + 1, size - 1, "input");
    try {
        switch (data[0] % 4) {
            case 0: load_csv(file); break;
            case 1: read_idx(file); break;
            case 2: load_npy(file, {file, {}}); break;
            default: load_series(file, SeriesOptions{{}, {"b"}, 2, 1, 1, false, {}, ','});
        }
    } catch (const plexus::Error&) {
    }
    return 0;
}
