// Plugin folder trust, after OpenSSH's StrictModes: whoever can write to a plugin folder, or
// replace a folder above it, can make every later `plexus` run execute their code.
#include "plexus/core/registry/plugin_trust.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

const char* const kEscape = ", or pass --allow-insecure-plugins)";

bool trusted_owner(uid_t owner) {
    return owner == 0 || owner == ::geteuid();
}

std::string chown_fix(const fs::path& path) {
    return "chown " + std::string(::geteuid() == 0 ? "root" : std::to_string(::geteuid())) + " " +
           shell_word(path.string());
}

std::string owner_problem(uid_t owner) {
    return "owned by uid " + std::to_string(owner) + ", neither root nor you (uid " +
           std::to_string(::geteuid()) + ")";
}

/// What makes a folder or file writable by someone else, or empty.
std::string writers(mode_t mode) {
    if (mode & S_IWOTH) return "writable by others";
    if (mode & S_IWGRP) return "writable by its group";
    return {};
}

std::string chmod_fix(mode_t mode, const fs::path& path) {
    return std::string("chmod ") +
           ((mode & S_IWGRP) && (mode & S_IWOTH) ? "go-w"
            : (mode & S_IWOTH)                   ? "o-w"
                                                 : "g-w") +
           " " + shell_word(path.string());
}

}  // namespace

std::string shell_word(std::string_view path) {
    bool plain = !path.empty(), control = false;
    for (const unsigned char c : path) {
        control |= c < 0x20 || c == 0x7f;
        plain &=
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            std::string_view("/._-+,:=@%").find(static_cast<char>(c)) != std::string_view::npos;
    }
    if (plain) return std::string(path);
    std::string out = control ? "$'" : "'";
    for (const unsigned char c : path) {
        if (!control) {
            out += c == '\'' ? std::string("'\\''") : std::string(1, static_cast<char>(c));
        } else if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\') {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "'";
}

std::string folder_trust_problem(const fs::path& folder) {
    const std::string refusing = "; refusing to load plugins from it (";
    struct stat st {};
    if (::lstat(folder.c_str(), &st) != 0)
        return folder.string() + ": plugin folder cannot be checked (" + std::strerror(errno) + ")";
    if (!trusted_owner(st.st_uid))
        return folder.string() + ": plugin folder is " + owner_problem(st.st_uid) + refusing +
               chown_fix(folder) + kEscape;
    if (const std::string who = writers(st.st_mode); !who.empty())
        return folder.string() + ": plugin folder is " + who + refusing +
               chmod_fix(st.st_mode, folder) + kEscape;
    for (fs::path above = folder.parent_path(); !above.empty(); above = above.parent_path()) {
        if (::lstat(above.c_str(), &st) != 0)
            return folder.string() + ": plugin folder cannot be checked (" + above.string() + ": " +
                   std::strerror(errno) + ")";
        if (!trusted_owner(st.st_uid))
            return folder.string() + ": plugin folder lies under " + above.string() + ", " +
                   owner_problem(st.st_uid) + refusing + "move the plugins" + kEscape;
        const std::string who = writers(st.st_mode);
        if (!who.empty() && !(st.st_mode & S_ISVTX))
            return folder.string() + ": plugin folder lies under " + above.string() +
                   ", which is " + who + " and not sticky" + refusing +
                   chmod_fix(st.st_mode, above) + kEscape;
        if (above == above.root_path()) break;
    }
    return {};
}

std::string file_trust_problem(const fs::path& file, const struct stat& st) {
    if (!trusted_owner(st.st_uid))
        return owner_problem(st.st_uid) + "; refusing to load it (" + chown_fix(file) + kEscape;
    if (const std::string who = writers(st.st_mode); !who.empty())
        return who + "; refusing to load it (" + chmod_fix(st.st_mode, file) + kEscape;
    return {};
}

}  // namespace plexus::core
