// The allow-list itself. Each entry is as narrow as the class it names: one target (or
// family), one command where it matters, one symptom, and the words that identify it.
#include "known.hpp"

namespace plexus::fuzz {

const std::vector<Known>& known_failures() {
    // Issue 17. files: the files helper (branch h17-files); plugins: the plugins helper
    // (h17-plugins). The integrator deletes an entry when its fix lands on main.
    static const std::vector<Known> all = {
        // (K1-K8 and K10 were fixed by h17-files, K9 by h17-plugins.)
        // (K11, a damaged plugin crashing dlopen inside plexus, was fixed by h17-scanner.)
    };
    return all;
}

const Known* known_failure(const std::string& target, const std::string& command,
                           const Symptom& symptom) {
    for (const Known& k : known_failures()) {
        const std::string t = k.target;
        const bool target_ok =
            t.empty() || t == target || (t.back() == '-' && target.rfind(t, 0) == 0);
        if (target_ok && (!*k.command || command == k.command) && symptom.kind == k.kind &&
            symptom.detail.find(k.pattern) != std::string::npos)
            return &k;
    }
    return nullptr;
}

}  // namespace plexus::fuzz
