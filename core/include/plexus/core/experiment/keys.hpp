// Every key an experiment file knows, declared once: its type, default, range and doc. Parsing
// (which keys exist, which repeat), --set validation, reading typed values (settings.hpp),
// `plexus train --help-keys` and the key table in the README all come from this table.
#pragma once

#include <span>
#include <string>
#include <string_view>

#pragma GCC visibility push(default)

namespace plexus::core {

enum class KeyType {
    text,       // free text
    source,     // a data source (SCHEME:PATH ...) or, where the doc says so, a fraction
    component,  // a component line: name key=value ...
    integer,    // a whole number in [min, max]
    number,     // a finite number in [min, max]
    boolean,    // true or false
};

struct ExperimentKey {
    std::string_view key;  // "section.key"
    KeyType type;
    bool list;  // repeated lines build a list, in file order
    /// The value used when the key is unset, as text; empty: none. A default that names
    /// another key ("data.seed") takes that key's value.
    std::string_view default_value;
    double min = 0, max = 0;  // integer and number keys
    /// A word accepted besides a number ("full" for train.batch_size), and what it means.
    std::string_view word = {}, word_doc = {};
    std::string_view doc = {};
};

/// The table, in the order resolved_text() writes keys (section by section).
std::span<const ExperimentKey> experiment_keys();
/// The sections in file order: experiment, data, model, train.
std::span<const std::string_view> experiment_sections();
/// The entry for "section.key", or nullptr.
const ExperimentKey* find_experiment_key(std::string_view key);

/// What values a key takes, e.g. "integer in [1, 1000000] or 'full'", "component, repeated".
std::string describe_key_value(const ExperimentKey& key);
/// Every key, one per line under its section, with value, default and doc (--help-keys).
std::string experiment_keys_text();
/// The same as a Markdown table (the README's key list).
std::string experiment_keys_markdown();

}  // namespace plexus::core

#pragma GCC visibility pop
