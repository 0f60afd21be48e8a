// What the registry learns about a plugin file before it runs anything from it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// The fields of a plugin's plain-data manifest (plexus/plugin.hpp) that every Plexus ABI
/// keeps at the same place, read from the file itself.
struct ManifestHead {
    std::uint32_t abi_version = 0;
    std::uint32_t struct_size = 0;
    std::optional<std::string> build_tag;  // empty when the pointer or the text is unusable
};

/// Reads the manifest head of the plugin library at `path` without loading it: checks that
/// the file is a complete ELF shared library for this machine, finds
/// PLEXUS_MANIFEST_DATA_SYMBOL in its dynamic symbol table and follows the manifest's
/// build-tag pointer through the file's relative relocations.
/// Requires: nothing of the file; every offset, size and count in it is checked, tables are
/// capped (64 MiB each) and only the headers, the dynamic symbol table, its names and the
/// relocation tables are read, so a huge or sparse file is judged in milliseconds.
/// Ensures: empty string and `head` filled, or what is wrong as a phrase that follows the file
/// name ("is truncated (…)", "not an ELF shared library (…)"), naming the fix.
std::string read_manifest_head(const std::filesystem::path& path, ManifestHead& head);

}  // namespace plexus::core

#pragma GCC visibility pop
