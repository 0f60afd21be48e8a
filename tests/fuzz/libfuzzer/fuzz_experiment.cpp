// libFuzzer target: experiment file text through the INI parser and the key table
// (docs/fuzzing.md). A plexus::Error is the expected answer to a bad file.
#include <cstddef>
#include <cstdint>
#include <string>

#include "plexus/core/experiment/experiment.hpp"
#include "plexus/core/experiment/settings.hpp"
#include "plexus/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const auto exp = plexus::core::Experiment::parse(
            std::string(reinterpret_cast<const char*>(data), size), "fuzz.ini");
        plexus::core::read_settings(exp);
        (void)exp.resolved_text();
    } catch (const plexus::Error&) {
    }
    return 0;
}
