// libFuzzer target: study files through the study parser (docs/fuzzing.md).
#include <cstddef>
#include <cstdint>

#include "fuzz_file.hpp"
#include "plexus/core/study/study.hpp"
#include "plexus/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        plexus::core::load_study(plexus::fuzz::input_file(data, size, "study.ini"));
    } catch (const plexus::Error&) {
    }
    return 0;
}
