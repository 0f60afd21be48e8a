// Experiment files: plain INI read with Boost.Program_options. Sections become key prefixes
// ("[train] epochs = 10" is train.epochs), repeated keys build lists (model.layer), and
// every key can be overridden from the command line (--set train.epochs=2).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// One value and where it came from: "examples/fashion_mlp.ini:12" or "--set".
struct Setting {
    std::string value;
    std::string where;
};

class Experiment {
public:
    /// Parses `file`. Throws ConfigError "FILE:LINE: message" for a syntax error, an unknown
    /// section or key (naming the valid ones, with a did-you-mean), a repeated single-valued
    /// key, or an empty value; "FILE: cannot read" when it cannot be opened.
    static Experiment load(const std::filesystem::path& file);
    /// Same, from text (for tests); `name` stands for the file name in messages.
    static Experiment parse(const std::string& text, const std::string& name);

    /// Applies "section.key=value". A scalar key takes the value (the last override wins). A
    /// list key (model.layer, train.metric, train.callback, data.transform, ...) is replaced
    /// by the value on its first override and appended to on each later one, so repeated
    /// overrides build the list in order. Throws ConfigError "--set ...: ..." for a malformed
    /// override or unknown key.
    void apply_override(const std::string& assignment);
    /// Sets a key programmatically (as from the command line, e.g. --device).
    void set(const std::string& key, const std::string& value, const std::string& where);

    /// The single value of a key, if set.
    std::optional<Setting> get(const std::string& key) const;
    /// All values of a key in file order (empty when unset).
    std::vector<Setting> get_all(const std::string& key) const;
    /// The value of a key, or `fallback` when unset.
    std::string get_or(const std::string& key, const std::string& fallback) const;

    /// [experiment] name, else the file's stem.
    std::string name() const;
    const std::filesystem::path& path() const { return path_; }

    /// The experiment after overrides, as INI text (what a run directory records).
    std::string resolved_text() const;

    /// Every key the format knows, "section.key", sorted.
    static std::vector<std::string> known_keys();
    static bool is_list_key(const std::string& key);

private:
    /// Throws ConfigError unless `key` is known and `value` can be stored and written back.
    static void check_value(const std::string& key, const std::string& value,
                            const std::string& where);


    std::filesystem::path path_;
    std::string display_name_;
    std::map<std::string, std::vector<Setting>> values_;
    std::set<std::string> list_overrides_;  // list keys a --set has replaced once already
};

/// One line of an INI file without its comment, trimmed: '#' starts a comment anywhere (as in
/// Program_options), ';' at the start of a line or after whitespace.
std::string strip_comment(const std::string& line);

}  // namespace plexus::core

#pragma GCC visibility pop
