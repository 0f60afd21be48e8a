// The allow-list of the fuzz test: classes of failure that are known, described in
// tests/fuzz/KNOWN.md and being fixed elsewhere. A case that fails only in such a class is
// reported as skipped, not as a failure. Remove an entry as soon as its fix is merged: the
// test then holds the fix in place.
#pragma once

#include <string>
#include <vector>

#include "runner.hpp"

namespace plexus::fuzz {

struct Known {
    const char* id;       // "K1", ... as in tests/fuzz/KNOWN.md
    const char* target;   // a target name, a prefix of one ending in '-' ("model-"), "" for any
    const char* command;  // the command, or "" for any
    const char* kind;     // Symptom::kind
    const char* pattern;  // a part of the symptom's detail, or "" for any
    const char* owner;    // who fixes it
};

/// The entry that covers `symptom` of a case of `target` running `command`, or nullptr.
const Known* known_failure(const std::string& target, const std::string& command,
                           const Symptom& symptom);

/// Every entry, for the test's summary.
const std::vector<Known>& known_failures();

}  // namespace plexus::fuzz
