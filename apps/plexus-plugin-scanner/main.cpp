// plexus-plugin-scanner: loads plugin candidates on behalf of the registry, so that a
// damaged file (a relocation or constructor that faults) kills this process, not the host.
//
//   plexus-plugin-scanner FILE...   (run by core/src/registry/plugin_scan.cpp, not by users)
//
// For each FILE in order it dlopens the file the way the registry will, reads every string
// of its manifest the way `plexus plugins` will, and then writes "<index> ok\n" (or
// "<index> fail\n" when dlopen refused the file cleanly) to file descriptor 3. A candidate
// without a verdict when the process ends is the one that killed it.
#include <dlfcn.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <string>

#include "plexus/plugin.hpp"

namespace {

constexpr int kChannelFd = 3;
constexpr unsigned kSecondsPerCandidate = 10;  // the registry's limit; this is a backstop

/// Reads a manifest string to its end, so a wild pointer faults here.
std::size_t touch(const char* text) {
    return text ? std::strlen(text) : 0;
}

std::size_t touch_manifest(const plexus::Manifest& m) {
    std::size_t total = touch(m.build_tag);
    for (std::size_t i = 0; m.components && i < m.component_count; ++i) {
        const plexus::ComponentInfo& c = m.components[i];
        total += touch(c.name) + touch(c.version) + touch(c.summary);
        for (std::size_t p = 0; c.params && p < c.param_count; ++p)
            total += touch(c.params[p].name) + touch(c.params[p].default_value) +
                     touch(c.params[p].choices) + touch(c.params[p].doc);
    }
    return total;
}

bool report(const std::string& line) {
    return ::write(kChannelFd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
}

}  // namespace

int main(int argc, char** argv) {
    // Orphaned by a host that died, it stops rather than finish loading for nobody.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    volatile std::size_t sink = 0;  // keeps the manifest reads from being optimized out
    for (int i = 1; i < argc; ++i) {
        alarm(kSecondsPerCandidate + 5);
        void* handle = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);
        bool ok = handle != nullptr;
        if (handle) {
            if (const auto* m = static_cast<const plexus::Manifest*>(
                    dlsym(handle, PLEXUS_MANIFEST_DATA_SYMBOL)))
                sink = sink + touch_manifest(*m);
        }
        if (!report(std::to_string(i - 1) + (ok ? " ok\n" : " fail\n"))) _exit(2);
    }
    // _exit: the plugins' destructors are not what is being judged, and the host never unloads.
    _exit(0);
}
