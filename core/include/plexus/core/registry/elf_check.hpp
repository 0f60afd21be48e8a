#pragma once

#include <filesystem>
#include <string>

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// Empty when `path` is a complete ELF shared library for this machine whose dynamic symbol
/// table defines `symbol`; otherwise what is wrong, as a phrase that follows the file name
/// ("is truncated (…)", "not an ELF shared library (…)").
std::string check_elf_symbol(const std::filesystem::path& path, const std::string& symbol);

}  // namespace plexus::core

#pragma GCC visibility pop
