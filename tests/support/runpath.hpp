// The RUNPATH (or RPATH) entries of an ELF file, as `readelf -d` prints them, for the tests
// that check no binary makes the loader search the current folder.
#pragma once

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace plexus::test {

/// Every entry of the file's DT_RUNPATH and DT_RPATH, in order; an empty string for an empty
/// entry ("a::b", a trailing ':'), which the loader reads as the current folder.
/// Throws when readelf cannot be run or does not read the file.
inline std::vector<std::string> runpath_entries(const std::filesystem::path& file) {
    const std::string command = "readelf -d '" + file.string() + "' 2>&1";
    std::FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) throw std::runtime_error("cannot run " + command);
    std::string text;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
        text.append(buffer, n);
    if (::pclose(pipe) != 0) throw std::runtime_error(command + " failed:\n" + text);
    std::vector<std::string> entries;
    for (std::size_t line = 0, end; line < text.size(); line = end + 1) {
        end = text.find('\n', line);
        if (end == std::string::npos) end = text.size();
        const std::string row = text.substr(line, end - line);
        const std::size_t open = row.find('['), close = row.rfind(']');
        if ((row.find("(RUNPATH)") == std::string::npos &&
             row.find("(RPATH)") == std::string::npos) ||
            open == std::string::npos || close == std::string::npos || close < open)
            continue;
        const std::string list = row.substr(open + 1, close - open - 1);
        for (std::size_t from = 0;;) {
            const std::size_t colon = list.find(':', from);
            entries.push_back(list.substr(from, colon == std::string::npos ? colon : colon - from));
            if (colon == std::string::npos) break;
            from = colon + 1;
        }
    }
    return entries;
}

/// True when the loader resolves `entry` the same wherever the process was started: an
/// absolute folder, or one relative to the binary's own folder ($ORIGIN).
inline bool independent_of_cwd(const std::string& entry) {
    return entry.rfind("/", 0) == 0 || entry.rfind("$ORIGIN", 0) == 0 ||
           entry.rfind("${ORIGIN}", 0) == 0;
}

/// Copies libplexus_core.so and its version links from `from` to `to`: a copy of plexus finds
/// its core only in ../lib beside it ($ORIGIN/../lib).
inline void copy_core_library(const std::filesystem::path& from, const std::filesystem::path& to) {
    for (const auto& entry : std::filesystem::directory_iterator(from))
        if (entry.path().filename().string().rfind("libplexus_core.so", 0) == 0)
            std::filesystem::copy(entry.path(), to / entry.path().filename(),
                                  std::filesystem::copy_options::copy_symlinks);
}

}  // namespace plexus::test
