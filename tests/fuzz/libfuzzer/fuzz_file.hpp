// For the libFuzzer targets whose parser reads a file: the input written to one file of this
// process, replaced on every run.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace plexus::fuzz {

inline std::filesystem::path input_file(const std::uint8_t* data, std::size_t size,
                                        const std::string& name) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("plexus-libfuzzer-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto path = dir / name;
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    return path;
}

}  // namespace plexus::fuzz
