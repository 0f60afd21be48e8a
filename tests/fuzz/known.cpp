// The allow-list itself. Each entry is as narrow as the class it names: one target (or
// family), one command where it matters, one symptom, and the words that identify it.
#include "known.hpp"

namespace plexus::fuzz {

const std::vector<Known>& known_failures() {
    // Issue 17. files: the files helper (branch h17-files); plugins: the plugins helper
    // (h17-plugins). The integrator deletes an entry when its fix lands on main.
    static const std::vector<Known> all = {
        // User text echoed in a message is neither bounded nor escaped.
        {"K1", "", "", "long line", "", "files: bounded user text"},
        {"K2", "", "", "control character", "", "files: escaped user text"},
        {"K3", "", "", "invalid UTF-8", "", "files: escaped user text"},
        {"K4", "", "", "not one line", "one message over", "files: escaped user text"},
        // Silently accepted nonsense.
        {"K5", "idx.gz-", "", "accepted", "gzip", "files: gzip CRC-32 and length checked"},
        {"K6", "model-", "", "accepted", "NaN or infinite", "files: NaN weights refused"},
        {"K7", "model-", "", "accepted", "no_such_loss", "files: unknown loss refused"},
        {"K8", "model-", "", "accepted", "output layer's width", "files: classes checked"},
        // A CSV or series source that is a FIFO blocks; /dev/zero is read for gigabytes.
        {"K10", "special", "", "timeout", "", "files: regular, size-checked data sources"},
        {"K10", "special", "", "exit code", "bad_alloc", "files: regular, size-checked data sources"},
        {"K10", "special", "", "sanitizer", "", "files: regular, size-checked data sources"},
        // (K9, a 3 GiB plugin file read whole, was fixed by h17-plugins.)
        // A damaged plugin that passes the manifest check crashes the dynamic loader, or its
        // damaged initialisers run, inside plexus (SIGSEGV; under ASan a SEGV report).
        {"K11", "plugin", "", "signal", "", "plugins: damaged plugins never run in plexus"},
        {"K11", "plugin-huge", "", "signal", "", "plugins: damaged plugins never run in plexus"},
        {"K11", "plugin", "", "sanitizer", "on unknown address", "plugins: damaged plugins never run in plexus"},
        {"K11", "plugin-huge", "", "sanitizer", "on unknown address",
         "plugins: damaged plugins never run in plexus"},
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
